{{/*
Each service's settings, from the values: `jo.env.<service>` gives its environment variables,
`jo.files.<service>` the Secret and ConfigMap keys it reads as files (a JSON list of
{volume, secret or configMap, key}; each is mounted at /etc/job-orchestrator/<volume>/<key>).
Secrets come only from Secrets that exist before the install: by secretKeyRef, or as files.
*/}}

{{- define "jo.filePath" -}}
{{- printf "/etc/job-orchestrator/%s/%s" .volume .key }}
{{- end }}

{{- define "jo.files.auth-gateway" -}}
{{- $v := .Values }}
{{- $files := list (dict "volume" "token-key" "secret" (required "token.existingSecret is required: the Secret holding the gateway's Ed25519 signing key" $v.token.existingSecret) "key" $v.token.key) }}
{{- if $v.ldap.enabled }}
{{- if $v.ldap.bindDn }}
{{- $files = append $files (dict "volume" "ldap-bind-password" "secret" (required "ldap.bindPasswordSecret.name is required with ldap.bindDn: the Secret holding the bind password" $v.ldap.bindPasswordSecret.name) "key" $v.ldap.bindPasswordSecret.key) }}
{{- end }}
{{- if $v.ldap.caConfigMap.name }}
{{- $files = append $files (dict "volume" "ldap-ca" "configMap" $v.ldap.caConfigMap.name "key" $v.ldap.caConfigMap.key) }}
{{- end }}
{{- else }}
{{- $files = append $files (dict "volume" "users" "secret" (required "usersFile.existingSecret is required without LDAP: the Secret holding the gateway's users file" $v.usersFile.existingSecret) "key" $v.usersFile.key) }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{- define "jo.env.auth-gateway" -}}
{{- $v := .Values }}
{{- $files := include "jo.files.auth-gateway" . | fromJsonArray }}
{{- range $files }}
{{- if eq .volume "token-key" }}
- name: AUTH_GATEWAY_TOKEN_KEY_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- else if eq .volume "users" }}
- name: AUTH_GATEWAY_USERS_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- else if eq .volume "ldap-bind-password" }}
- name: AUTH_GATEWAY_LDAP_BIND_PASSWORD_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- else if eq .volume "ldap-ca" }}
- name: AUTH_GATEWAY_LDAP_CA_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- end }}
{{- end }}
{{- include "jo.env" (list "AUTH_GATEWAY_TOKEN_TTL_SECS" $v.token.ttlSecs) }}
{{- include "jo.env" (list "AUTH_GATEWAY_COOKIE_SECURE" $v.gateway.cookieSecure) }}
{{- include "jo.env" (list "AUTH_GATEWAY_TRUSTED_PROXIES" (join "," $v.gateway.trustedProxies)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LOGIN_USER_FAILURES" $v.gateway.loginUserFailures) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LOGIN_ADDRESS_FAILURES" $v.gateway.loginAddressFailures) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LOGIN_MAX_DELAY_SECS" $v.gateway.loginMaxDelaySecs) }}
{{- include "jo.env" (list "AUTH_GATEWAY_CATALOG_URL" (include "jo.serviceUrl" (dict "root" . "component" "nexus-catalog"))) }}
{{- include "jo.env" (list "AUTH_GATEWAY_DEPLOYER_URL" (include "jo.serviceUrl" (dict "root" . "component" "job-deployer"))) }}
{{- include "jo.env" (list "AUTH_GATEWAY_HISTORY_URL" (include "jo.serviceUrl" (dict "root" . "component" "job-history"))) }}
{{- include "jo.env" (list "AUTH_GATEWAY_UPSTREAM_TIMEOUT_SECS" $v.gateway.upstreamTimeoutSecs) }}
{{- include "jo.env" (list "AUTH_GATEWAY_UPSTREAM_CONNECT_TIMEOUT_SECS" $v.gateway.upstreamConnectTimeoutSecs) }}
{{- include "jo.env" (list "AUTH_GATEWAY_UI_DIR" $v.gateway.uiDir) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LINK_AIRFLOW_URL" $v.gateway.links.airflow) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LINK_GITLAB_URL" $v.gateway.links.gitlab) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LINK_NEXUS_URL" $v.gateway.links.nexus) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LINK_SPARK_URL" $v.gateway.links.spark) }}
{{- if $v.ldap.enabled }}
{{- $ldap := $v.ldap }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_URL" (required "ldap.url is required with ldap.enabled" $ldap.url)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_STARTTLS" $ldap.starttls) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_BIND_DN" $ldap.bindDn) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_USER_BASE" (required "ldap.userBase is required with ldap.enabled" $ldap.userBase)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_USER_FILTER" $ldap.userFilter) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_USERNAME_ATTRIBUTE" $ldap.usernameAttribute) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_NAME_ATTRIBUTE" $ldap.nameAttribute) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_GROUPS" $ldap.groups) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_GROUP_BASE" $ldap.groupBase) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_GROUP_FILTER" $ldap.groupFilter) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_NESTED_GROUPS" $ldap.nestedGroups) }}
{{- if not $ldap.allowedGroups }}{{ fail "ldap.allowedGroups is required with ldap.enabled: the DNs of the groups whose members may log in" }}{{ end }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_ALLOWED_GROUPS" (join ";" $ldap.allowedGroups)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_VIEWER_GROUPS" (join ";" $ldap.viewerGroups)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_OPERATOR_GROUPS" (join ";" $ldap.operatorGroups)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_ADMIN_GROUPS" (join ";" $ldap.adminGroups)) }}
{{- include "jo.env" (list "AUTH_GATEWAY_LDAP_TIMEOUT_SECS" $ldap.timeoutSecs) }}
{{- end }}
{{- end }}

{{- define "jo.files.nexus-catalog" -}}
{{- $v := .Values }}
{{- $files := list }}
{{- if $v.nexus.existingSecret }}
{{- $files = append $files (dict "volume" "nexus-password" "secret" $v.nexus.existingSecret "key" "password") }}
{{- end }}
{{- if $v.nexus.caConfigMap.name }}
{{- $files = append $files (dict "volume" "nexus-ca" "configMap" $v.nexus.caConfigMap.name "key" $v.nexus.caConfigMap.key) }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{- define "jo.env.nexus-catalog" -}}
{{- $v := .Values }}
{{- include "jo.env" (list "NEXUS_CATALOG_NEXUS_URL" (required "nexus.url is required: Nexus Repository Manager's base URL" $v.nexus.url)) }}
{{- if $v.nexus.existingSecret }}
{{ include "jo.secretEnv" (list "NEXUS_CATALOG_NEXUS_USERNAME" $v.nexus.existingSecret "username") }}
{{- end }}
{{- range include "jo.files.nexus-catalog" . | fromJsonArray }}
{{- if eq .volume "nexus-password" }}
- name: NEXUS_CATALOG_NEXUS_PASSWORD_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- else if eq .volume "nexus-ca" }}
- name: NEXUS_CATALOG_NEXUS_CA_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- end }}
{{- end }}
{{- include "jo.env" (list "NEXUS_CATALOG_NEXUS_TIMEOUT_SECS" $v.nexus.timeoutSecs) }}
{{- include "jo.env" (list "NEXUS_CATALOG_NEXUS_CONNECT_TIMEOUT_SECS" $v.nexus.connectTimeoutSecs) }}
{{- include "jo.env" (list "NEXUS_CATALOG_NEXUS_ATTEMPTS" $v.nexus.attempts) }}
{{- include "jo.env" (list "NEXUS_CATALOG_NEXUS_CONCURRENCY" $v.nexus.concurrency) }}
{{- include "jo.env" (list "NEXUS_CATALOG_CACHE_TTL_SECS" $v.catalog.cacheTtlSecs) }}
{{- include "jo.env" (list "NEXUS_CATALOG_CACHE_ENTRIES" $v.catalog.cacheEntries) }}
{{- include "jo.env" (list "NEXUS_CATALOG_DEADLINE_SECS" $v.catalog.deadlineSecs) }}
{{- end }}

{{- define "jo.files.job-deployer" -}}
{{- if .Values.deployer.runners }}
{{- list (dict "volume" "runners" "configMap" (printf "%s-runners" (include "jo.fullname" .)) "key" "runners.json") | toJson }}
{{- else }}
[]
{{- end }}
{{- end }}

{{- define "jo.env.job-deployer" -}}
{{- $v := .Values }}
{{- include "jo.env" (list "JOB_DEPLOYER_RUNTIME" "kubernetes") }}
{{- include "jo.env" (list "JOB_DEPLOYER_NAMESPACE" (include "jo.jobsNamespace" .)) }}
{{- include "jo.env" (list "JOB_DEPLOYER_FETCH_IMAGE" $v.deployer.fetchImage) }}
{{- include "jo.env" (list "JOB_DEPLOYER_NEXUS_SECRET" ($v.nexus.jobsSecret | default $v.nexus.existingSecret)) }}
{{- include "jo.env" (list "JOB_DEPLOYER_NEXUS_URL" $v.nexus.url) }}
{{- include "jo.env" (list "JOB_DEPLOYER_START_FAILURE_GRACE_SECS" $v.deployer.startFailureGraceSecs) }}
{{- include "jo.env" (list "JOB_DEPLOYER_EVENT_BUFFER" $v.deployer.eventBuffer) }}
{{- include "jo.env" (list "JOB_DEPLOYER_LOG_ARCHIVE_MAX_BYTES" $v.deployer.logArchiveMaxBytes) }}
{{- include "jo.env" (list "JOB_DEPLOYER_RUN_AS_USER" $v.deployer.runAsUser) }}
{{- range include "jo.files.job-deployer" . | fromJsonArray }}
- name: JOB_DEPLOYER_RUNNERS_FILE
  value: {{ include "jo.filePath" . | quote }}
{{- end }}
{{- include "jo.env" (list "KAFKA_BROKERS" (required "kafka.brokers is required: the Kafka bootstrap brokers, host:port separated by ','" $v.kafka.brokers)) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC" $v.kafka.topic) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC_PARTITIONS" $v.kafka.topicPartitions) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC_REPLICATION" $v.kafka.topicReplication) }}
{{- include "jo.env" (list "JOB_LOGS_TOPIC" $v.kafka.logsTopic) }}
{{- end }}

{{- define "jo.files.job-history" -}}
[]
{{- end }}

{{- define "jo.env.job-history" -}}
{{- include "jo.databaseEnv" . }}
{{- include "jo.env" (list "JOB_HISTORY_DB_POOL_SIZE" .Values.postgres.historyPoolSize) }}
{{- include "jo.env" (list "JOB_HISTORY_STATEMENT_TIMEOUT_SECS" .Values.history.statementTimeoutSecs) }}
{{- include "jo.env" (list "JOB_HISTORY_QUERY_MAX_LENGTH" .Values.history.queryMaxLength) }}
{{- include "jo.env" (list "JOB_HISTORY_QUERY_MAX_COMPARISONS" .Values.history.queryMaxComparisons) }}
{{- include "jo.env" (list "JOB_HISTORY_QUERY_MAX_SUBQUERIES" .Values.history.queryMaxSubqueries) }}
{{- include "jo.env" (list "JOB_HISTORY_QUERY_MAX_LIST_VALUES" .Values.history.queryMaxListValues) }}
{{- end }}

{{- define "jo.files.job-history-consumer" -}}
[]
{{- end }}

{{- define "jo.env.job-history-consumer" -}}
{{- $v := .Values }}
{{- include "jo.databaseEnv" . }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_DB_POOL_SIZE" $v.postgres.consumerPoolSize) }}
{{- include "jo.env" (list "KAFKA_BROKERS" (required "kafka.brokers is required: the Kafka bootstrap brokers, host:port separated by ','" $v.kafka.brokers)) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC" $v.kafka.topic) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC_PARTITIONS" $v.kafka.topicPartitions) }}
{{- include "jo.env" (list "JOB_EVENTS_TOPIC_REPLICATION" $v.kafka.topicReplication) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_GROUP" $v.consumer.group) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_SESSION_TIMEOUT_MS" $v.consumer.sessionTimeoutMs) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_BATCH_SIZE" $v.consumer.batchSize) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_BATCH_WAIT_MS" $v.consumer.batchWaitMs) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_MAX_BACKOFF_MS" $v.consumer.maxBackoffMs) }}
{{- include "jo.env" (list "JOB_LOGS_TOPIC" $v.kafka.logsTopic) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_LOG_RETENTION_DAYS" $v.consumer.logRetentionDays) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_LOG_RETENTION_MAX_MIB" $v.consumer.logRetentionMaxMib) }}
{{- include "jo.env" (list "JOB_HISTORY_CONSUMER_LOG_CLEANUP_INTERVAL_SECS" $v.consumer.logCleanupIntervalSecs) }}
{{- end }}
