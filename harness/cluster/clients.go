package cluster

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Parallel tests share one cluster: client-go's default 5 QPS would throttle them.
const (
	clientQPS   = 200
	clientBurst = 400
)

// writeKubeconfig writes a self-contained admin kubeconfig (certs embedded),
// so the file still works when copied or when the PKI folder is gone.
func writeKubeconfig(path, name, server string, caPEM, certPEM, keyPEM []byte) error {
	config := clientcmdapi.NewConfig()
	config.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	config.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	config.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	config.CurrentContext = name
	return clientcmd.WriteToFile(*config, path)
}

// clientsFor loads a kubeconfig file into a REST config and a typed client.
func clientsFor(kubeconfigPath string) (*rest.Config, kubernetes.Interface, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return nil, nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfigPath, err)
	}
	return clientsForConfig(config)
}

func clientsForConfig(config *rest.Config) (*rest.Config, kubernetes.Interface, error) {
	config.QPS, config.Burst = clientQPS, clientBurst
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, nil, err
	}
	return config, client, nil
}
