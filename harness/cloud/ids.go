package cloud

import (
	"fmt"
	"regexp"
	"strings"
)

// The id patterns, exactly as charts/common/templates/_validate.tpl writes
// them (TestChartPatternsAreOurs checks): one fact, one spelling.
const (
	// GUIDPattern is an Azure client or tenant ID.
	GUIDPattern = `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	// RoleARNPattern is an IAM role ARN, arn:aws(-partition)*:iam::<12 digits>:role/<path/name>.
	RoleARNPattern = `^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`
	// GoogleServiceAccountPattern is a Google service account address.
	GoogleServiceAccountPattern = `^[^@]+@[a-z0-9][a-z0-9.-]*\.iam\.gserviceaccount\.com$`
	// GoogleServiceAccountNamePattern is Google's rule for the name before the
	// @: 6 to 30 lowercase letters, digits and hyphens, starting with a
	// letter, not ending with a hyphen.
	GoogleServiceAccountNamePattern = `^[a-z][a-z0-9-]{4,28}[a-z0-9]@`
	// PoolProviderPattern is a workload identity pool provider's full name.
	PoolProviderPattern = `^//iam\.googleapis\.com/projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`
)

// PoolProviderForm is PoolProviderPattern as error messages show it.
const PoolProviderForm = "//iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>"

var (
	guid                     = regexp.MustCompile(GUIDPattern)
	roleARN                  = regexp.MustCompile(RoleARNPattern)
	googleServiceAccount     = regexp.MustCompile(GoogleServiceAccountPattern)
	googleServiceAccountName = regexp.MustCompile(GoogleServiceAccountNamePattern)
	poolProvider             = regexp.MustCompile(PoolProviderPattern)
)

// IsGUID reports whether id is an Azure client or tenant ID.
func IsGUID(id string) bool { return guid.MatchString(id) }

// IsRoleARN reports whether arn is an IAM role ARN.
func IsRoleARN(arn string) bool { return roleARN.MatchString(arn) }

// RoleARN is an IAM role ARN taken apart.
type RoleARN struct {
	Partition string // aws, aws-cn, aws-us-gov
	Account   string // 12 digits
	Name      string // the role's name, without its path
}

// ParseRoleARN takes an IAM role ARN apart; ok is false when arn does not
// match RoleARNPattern.
func ParseRoleARN(arn string) (role RoleARN, ok bool) {
	if !roleARN.MatchString(arn) {
		return RoleARN{}, false
	}
	parts := strings.SplitN(arn, ":", 6) // arn, partition, iam, "", account, role/path/name
	path := strings.Split(parts[5], "/")
	return RoleARN{Partition: parts[1], Account: parts[4], Name: path[len(path)-1]}, true
}

// GoogleServiceAccountProject is the project of a Google service account
// address; ok is false unless the address matches both
// GoogleServiceAccountPattern and GoogleServiceAccountNamePattern.
func GoogleServiceAccountProject(email string) (project string, ok bool) {
	if !googleServiceAccount.MatchString(email) || !googleServiceAccountName.MatchString(email) {
		return "", false
	}
	_, domain, _ := strings.Cut(email, "@")
	return strings.TrimSuffix(domain, ".iam.gserviceaccount.com"), true
}

// IsPoolProvider reports whether name is a workload identity pool provider's full name.
func IsPoolProvider(name string) bool { return poolProvider.MatchString(name) }

// PoolPrincipal is the IAM principal a pool provider's token for subject
// becomes, the member a grant names:
// principal://iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/subject/<subject>.
func PoolPrincipal(provider, subject string) (string, error) {
	if !IsPoolProvider(provider) {
		return "", fmt.Errorf("%q is not a workload identity pool provider (%s)", provider, PoolProviderForm)
	}
	pool, _, _ := strings.Cut(strings.TrimPrefix(provider, GCPAudiencePrefix), "/providers/")
	return "principal://iam.googleapis.com/" + pool + "/subject/" + subject, nil
}
