package osmoprogram

// The configuration classes OSMO's Python programs load, as tables: one Field per
// pydantic field, with the command-line name, environment variable, type and
// default OSMO's source gives it. Facts from NVIDIA/OSMO at d59aed3c4; every class
// cites the file it follows. A class is its bases' fields (in Python's method
// resolution order, nearest first) and then its own; a field defined again
// replaces the inherited one, as pydantic does.

// Type is how the real program converts a field's text (pydantic, lax mode).
type Type int

const (
	String     Type = iota // str: any text
	Int                    // int: an integer ("5432", "1_000", "8.0")
	Bool                   // bool: true/false, yes/no, on/off, t/f, y/n, 1/0
	Level                  // LoggingLevel: a level name or its number (src/lib/utils/logging.py)
	StringList             // List[str]: split on ","
	Literal                // Literal[...]: one of Choices
)

func (t Type) String() string {
	return [...]string{"str", "int", "bool", "LoggingLevel", "List[str]", "Literal"}[t]
}

// Field is one pydantic field of a StaticConfig class.
type Field struct {
	Name      string   // the field (also its key in a --config YAML file)
	Flag      string   // json_schema_extra command_line, without "--"; "" when none
	Env       string   // json_schema_extra env; "" when none
	Type      Type     //
	Default   string   // the default as text; "" with Nullable for None
	Nullable  bool     // `X | None`: None is a valid value (and the default when Default is "")
	Required  bool     // no default: a value must come from the environment, a flag or a config file
	StoreTrue bool     // action store_true: a bare flag, False when absent
	Choices   []string // Literal's values
	Positive  bool     // pydantic gt=0
}

// Class is a StaticConfig subclass: the fields its parser knows.
type Class struct {
	Name   string  // Python class name
	Source string  // file in NVIDIA/OSMO at d59aed3c4
	Fields []Field // in pydantic's order: bases first
	// Check is the class's model validator, run on the resolved values; nil when none.
	Check func(values map[string]Value) error
}

// class builds a Class from its bases (Python order, as written in the class
// statement) and its own fields; a later definition of a field name wins.
func class(name, source string, bases []Class, own ...Field) Class {
	var fields []Field
	index := map[string]int{}
	add := func(f Field) {
		if i, ok := index[f.Name]; ok {
			fields[i] = f
			return
		}
		index[f.Name] = len(fields)
		fields = append(fields, f)
	}
	// pydantic collects the bases' fields from the far end of the MRO inwards, so
	// the first base listed wins a name two bases share.
	for i := len(bases) - 1; i >= 0; i-- {
		for _, f := range bases[i].Fields {
			add(f)
		}
	}
	for _, f := range own {
		add(f)
	}
	return Class{Name: name, Source: source, Fields: fields}
}

func str(name, flag, env, def string) Field {
	return Field{Name: name, Flag: flag, Env: env, Type: String, Default: def}
}

func nullable(name, flag, env string) Field {
	return Field{Name: name, Flag: flag, Env: env, Type: String, Nullable: true}
}

func integer(name, flag, env, def string) Field {
	return Field{Name: name, Flag: flag, Env: env, Type: Int, Default: def}
}

func positive(name, flag, env, def string) Field {
	f := integer(name, flag, env, def)
	f.Positive = true
	return f
}

func boolean(name, flag, env, def string) Field {
	return Field{Name: name, Flag: flag, Env: env, Type: Bool, Default: def}
}

func required(f Field) Field {
	f.Required, f.Default, f.Nullable = true, "", false
	return f
}

var (
	// staticConfig: StaticConfig itself has no fields (its parser adds --config).
	// src/utils/static_config.py
	staticConfig = Class{Name: "StaticConfig", Source: "src/utils/static_config.py"}

	// loggingConfig: src/lib/utils/logging.py LoggingConfig.
	loggingConfig = class("LoggingConfig", "src/lib/utils/logging.py", nil,
		Field{Name: "log_level", Flag: "log_level", Type: Level, Default: "INFO"},
		nullable("log_dir", "log_dir", ""),
		str("log_name", "log_name", "", ""),
		Field{Name: "k8s_log_level", Flag: "k8s_log_level", Type: Level, Default: "WARNING"},
	)

	// postgresConfig: src/utils/connectors/postgres.py PostgresConfig.
	postgresConfig = class("PostgresConfig", "src/utils/connectors/postgres.py", nil,
		str("postgres_host", "postgres_host", "OSMO_POSTGRES_HOST", "localhost"),
		integer("postgres_port", "postgres_port", "OSMO_POSTGRES_PORT", "5432"),
		str("postgres_user", "postgres_user", "OSMO_POSTGRES_USER", "postgres"),
		required(str("postgres_password", "postgres_password", "OSMO_POSTGRES_PASSWORD", "")),
		str("postgres_database_name", "postgres_database_name", "OSMO_POSTGRES_DATABASE_NAME", "osmo_db"),
		positive("postgres_reconnect_retry", "postgres_reconnect_retry", "OSMO_POSTGRES_RECONNECT_RETRY", "5"),
		str("mek_file", "mek_file", "OSMO_MEK_FILE", "/home/osmo/vault-agent/secrets/vault-secrets.yaml"),
		Field{Name: "method", Flag: "method", Type: Literal, Choices: []string{"dev"}, Nullable: true},
		str("dev_user", "dev_user", "", "testuser"),
		nullable("osmo_image_location", "osmo_image_location", ""),
		nullable("osmo_image_tag", "osmo_image_tag", ""),
		nullable("service_hostname", "service_hostname", ""),
		positive("postgres_pool_minconn", "postgres_pool_minconn", "OSMO_POSTGRES_POOL_MINCONN", "1"),
		positive("postgres_pool_maxconn", "postgres_pool_maxconn", "OSMO_POSTGRES_POOL_MAXCONN", "10"),
		str("schema_version", "schema_version", "OSMO_SCHEMA_VERSION", "public"),
	)

	// redisConfig: src/utils/connectors/redis.py RedisConfig.
	redisConfig = class("RedisConfig", "src/utils/connectors/redis.py", nil,
		str("redis_host", "redis_host", "OSMO_REDIS_HOST", "localhost"),
		integer("redis_port", "redis_port", "OSMO_REDIS_PORT", "6379"),
		nullable("redis_password", "redis_password", "OSMO_REDIS_PASSWORD"),
		boolean("redis_tls_enable", "redis_tls_enable", "OSMO_REDIS_TLS_ENABLE", "False"),
		integer("redis_db_number", "redis_db_number", "OSMO_REDIS_DB_NUMBER", "0"),
	)

	// metricsCreatorConfig: src/utils/metrics/metrics.py MetricsCreatorConfig.
	metricsCreatorConfig = class("MetricsCreatorConfig", "src/utils/metrics/metrics.py", nil,
		integer("metrics_prometheus_port", "metrics_prometheus_port", "METRICS_PROMETHEUS_PORT", "9464"),
		str("metrics_otel_collector_component", "metrics_otel_collector_component", "METRICS_OTEL_COLLECTOR_COMPONENT", "osmo_service_component"),
		boolean("metrics_otel_enable", "metrics_otel_enable", "METRICS_OTEL_ENABLE", "False"),
	)

	// loginConfig: src/lib/utils/login.py LoginConfig.
	loginConfig = class("LoginConfig", "src/lib/utils/login.py", nil,
		nullable("username", "username", ""),
		nullable("password", "password", "OSMO_LOGIN_PASSWORD"),
		nullable("password_file", "password_file", ""),
		nullable("token", "token", "OSMO_LOGIN_TOKEN"),
		nullable("token_file", "token_file", ""),
		nullable("token_endpoint", "token_endpoint", ""),
		nullable("client_id", "client_id", ""),
		Field{Name: "login_method", Flag: "login_method", Type: Literal, Choices: []string{"password", "token"}, Nullable: true, Default: "password"},
	)

	progressFile = str("progress_file", "progress_file", "OSMO_PROGRESS_FILE", "/var/run/osmo/last_progress")
	// progressIterFrequency: "<int><unit>"; the programs fall back to 15s on a bad
	// value (common.to_timedelta's ValueError is caught), so any text is accepted.
	progressIterFrequency = str("progress_iter_frequency", "progress_iter_frequency", "OSMO_PROGRESS_ITER_FREQUENCY", "15s")
	progressPeriod        = integer("progress_period", "progress_period", "OSMO_PROGRESS_PERIOD", "30")
	hostURL               = str("host", "host", "", "http://0.0.0.0:8000")
	nodeConditionPrefix   = str("node_condition_prefix", "node_condition_prefix", "", "osmo.nvidia.com/")
	progressFolderPath    = str("progress_folder_path", "progress_folder_path", "OSMO_PROGRESS_FOLDER_PATH", "/var/run/osmo")
)

// workflowServiceConfig: src/service/core/workflow/objects.py WorkflowServiceConfig,
// loaded by the API service and (first) by the agent.
var workflowServiceConfig = withCheck(class("WorkflowServiceConfig", "src/service/core/workflow/objects.py",
	[]Class{redisConfig, postgresConfig, loggingConfig, staticConfig, metricsCreatorConfig},
	hostURL,
	nullable("device_endpoint", "device_endpoint", ""),
	nullable("device_client_id", "device_client_id", ""),
	nullable("browser_endpoint", "browser_endpoint", ""),
	nullable("browser_client_id", "browser_client_id", ""),
	nullable("token_endpoint", "token_endpoint", ""),
	nullable("logout_endpoint", "logout_endpoint", ""),
	nullable("client_install_url", "client_install_url", ""),
	progressFile,
	progressIterFrequency,
	nullable("default_admin_username", "default_admin_username", "OSMO_DEFAULT_ADMIN_USERNAME"),
	nullable("default_admin_password", "default_admin_password", "OSMO_DEFAULT_ADMIN_PASSWORD"),
	nullable("config_file", "config_file", "OSMO_CONFIG_FILE"),
), func(values map[string]Value) error {
	// validate_default_admin: a username needs a password.
	if values["default_admin_username"].truthy() && !values["default_admin_password"].truthy() {
		return ruleError{"default_admin_password must be set when default_admin_username is specified"}
	}
	return nil
})

// backendBaseConfig: src/operator/utils/objects.py BackendBaseConfig.
var backendBaseConfig = class("BackendBaseConfig", "src/operator/utils/objects.py",
	[]Class{loggingConfig, loginConfig, staticConfig},
	str("service_url", "host", "", "http://127.0.0.1:8000"),
	str("backend", "backend", "BACKEND", "osmo-backend"),
	required(str("namespace", "namespace", "", "")),
	Field{Name: "method", Flag: "method", Type: Literal, Choices: []string{"dev"}, Nullable: true},
)

var classes = struct {
	worker, logger, backendService, delayedJobMonitor, router, progressCheck,
	backendListener, backendWorker, testRunner Class
}{
	// src/service/worker/worker.py WorkerConfig.
	worker: class("WorkerConfig", "src/service/worker/worker.py",
		[]Class{redisConfig, postgresConfig, loggingConfig, staticConfig, metricsCreatorConfig},
		progressFile, progressIterFrequency),

	// src/service/logger/logger.py LoggerServiceConfig.
	logger: class("LoggerServiceConfig", "src/service/logger/logger.py",
		[]Class{redisConfig, postgresConfig, loggingConfig, staticConfig},
		hostURL, progressFile, progressPeriod),

	// src/service/agent/agent_service.py BackendServiceConfig (the agent's second parser).
	backendService: class("BackendServiceConfig", "src/service/agent/agent_service.py",
		[]Class{redisConfig, postgresConfig, loggingConfig, staticConfig},
		progressPeriod),

	// src/service/delayed_job_monitor/delayed_job_monitor.py DelayedJobMonitorConfig.
	delayedJobMonitor: class("DelayedJobMonitorConfig", "src/service/delayed_job_monitor/delayed_job_monitor.py",
		[]Class{redisConfig, postgresConfig, loggingConfig, staticConfig, metricsCreatorConfig},
		integer("poll_interval", "poll_interval", "OSMO_POLL_INTERVAL", "5"),
		progressFile,
		Field{Name: "enable_metrics", Flag: "enable_metrics", Env: "OSMO_ENABLE_METRICS", Type: Bool, Default: "False", StoreTrue: true},
	),

	// src/service/router/router.py RouterServiceConfig.
	router: class("RouterServiceConfig", "src/service/router/router.py",
		[]Class{loggingConfig, staticConfig, postgresConfig},
		hostURL,
		str("hostname", "hostname", "", "localhost"),
		integer("timeout", "timeout", "", "60"),
		integer("webserver_initial_timeout", "webserver_initial_timeout", "", "3600"),
		integer("webserver_nonactive_timeout", "webserver_nonactive_timeout", "", "1800"),
		Field{Name: "sticky_cookies", Flag: "sticky_cookies", Type: StringList, Default: "AWSALB,AWSALBCORS"},
	),

	// src/utils/progress_check/progress_check.py ProgressCheckConfig.
	progressCheck: class("ProgressCheckConfig", "src/utils/progress_check/progress_check.py",
		[]Class{staticConfig},
		str("progress_interval", "progress_interval", "OSMO_PROGRESS_INTERVAL", "10"),
		progressFile),

	// src/operator/utils/objects.py BackendListenerConfig.
	backendListener: class("BackendListenerConfig", "src/operator/utils/objects.py",
		[]Class{backendBaseConfig, metricsCreatorConfig},
		Field{Name: "include_namespace_usage", Flag: "include_namespace_usage", Type: StringList, Default: ""},
		progressFolderPath,
		str("node_progress_file", "node_progress_file", "OSMO_NODE_PROGRESS_FILE", "last_progress_node"),
		str("pod_progress_file", "pod_progress_file", "OSMO_POD_PROGRESS_FILE", "last_progress_pod"),
		str("event_progress_file", "event_progress_file", "OSMO_EVENT_PROGRESS_FILE", "last_progress_event"),
		str("control_progress_file", "control_progress_file", "OSMO_CONTROL_PROGRESS_FILE", "last_progress_control"),
		str("websocket_progress_file", "websocket_progress_file", "OSMO_WEBSOCKET_PROGRESS_FILE", "last_progress_websocket"),
		integer("pod_event_cache_size", "pod_event_cache_size", "POD_EVENT_CACHE_SIZE", "1024"),
		integer("pod_event_cache_ttl", "pod_event_cache_ttl", "POD_EVENT_CACHE_TTL", "15"),
		integer("node_event_cache_size", "node_event_cache_size", "NODE_EVENT_CACHE_SIZE", "1024"),
		integer("node_event_cache_ttl", "node_event_cache_ttl", "NODE_EVENT_CACHE_TTL", "15"),
		integer("backend_event_cache_size", "backend_event_cache_size", "BACKEND_EVENT_CACHE_SIZE", "1024"),
		integer("max_unacked_messages", "max_unacked_messages", "MAX_UNACKED_MESSAGES", "100"),
		nodeConditionPrefix,
		boolean("enable_node_label_update", "enable_node_label_update", "ENABLE_NODE_LABEL_UPDATE", "False"),
		integer("list_pods_page_size", "list_pods_page_size", "LIST_PODS_PAGE_SIZE", "1000"),
		integer("refresh_resource_state_interval", "refresh_resource_state_interval", "REFRESH_RESOURCE_STATE_INTERVAL", "300"),
		integer("api_qps", "api_qps", "OSMO_API_QPS", "20"),
		integer("api_burst", "api_burst", "OSMO_API_BURST", "30"),
	),

	// src/operator/utils/objects.py BackendWorkerConfig.
	backendWorker: class("BackendWorkerConfig", "src/operator/utils/objects.py",
		[]Class{backendBaseConfig, metricsCreatorConfig},
		str("test_runner_namespace", "test_runner_namespace", "", "osmo-test"),
		str("test_runner_cronjob_spec_file", "test_runner_cronjob_spec_file", "TEST_RUNNER_CRONJOB_SPEC_FILE", "test_runner_cronjob_spec/spec.yaml"),
		progressFolderPath,
		str("worker_heartbeat_progress_file", "worker_heartbeat_progress_file", "OSMO_WORKER_HEARTBEAT_PROGRESS_FILE", "last_progress_worker_heartbeat"),
		str("worker_job_progress_file", "worker_job_progress_file", "OSMO_WORKER_JOB_PROGRESS_FILE", "last_progress_worker_job"),
		progressIterFrequency,
		nodeConditionPrefix,
	),

	// src/operator/utils/objects.py TestRunnerConfig.
	testRunner: withCheck(class("TestRunnerConfig", "src/operator/utils/objects.py",
		[]Class{backendBaseConfig},
		required(str("test_name", "backend_test_name", "BACKEND_TEST_NAME", "")),
		required(str("namespace", "namespace", "NAMESPACE", "")),
		str("node_condition_prefix", "node_condition_prefix", "NODE_CONDITION_PREFIX", "osmo.nvidia.com/"),
		str("prefix", "prefix", "PREFIX", "osmo"),
		boolean("read_from_osmo", "read_from_osmo", "", "True"),
		nullable("read_from_file", "read_from_file", ""),
		Field{Name: "service_account", Flag: "service_account", Env: "SERVICE_ACCOUNT", Type: String, Nullable: true, Default: "test-runner"},
	), func(values map[string]Value) error {
		// validate_config_source: the test config comes from the service or a file.
		if values["read_from_osmo"].truthy() {
			if !values["service_url"].truthy() {
				return ruleError{"service_url is required when read_from_osmo is True"}
			}
		} else if !values["read_from_file"].truthy() {
			return ruleError{"read_from_file is required when read_from_osmo is False"}
		}
		return nil
	}),
}

func withCheck(c Class, check func(map[string]Value) error) Class {
	c.Check = check
	return c
}
