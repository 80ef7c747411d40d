{{/* The chart's name. */}}
{{- define "jo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object's name: the release name, plus the chart's unless it holds it. */}}
{{- define "jo.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := include "jo.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels that select a component's pods: (dict "root" $ "component" "auth-gateway"). */}}
{{- define "jo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jo.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every object's labels: (dict "root" $ "component" "auth-gateway"). */}}
{{- define "jo.labels" -}}
{{ include "jo.selectorLabels" . }}
app.kubernetes.io/part-of: job-orchestrator
app.kubernetes.io/version: {{ include "jo.tag" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "jo.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* A service's image: (dict "root" $ "component" "job-history"). */}}
{{- define "jo.image" -}}
{{- printf "%s/%s:%s" (.root.Values.image.repository | trimSuffix "/") .component (include "jo.tag" .root) }}
{{- end }}

{{/* A service's object name: (dict "root" $ "component" "job-history"). */}}
{{- define "jo.componentName" -}}
{{- printf "%s-%s" (include "jo.fullname" .root) .component }}
{{- end }}

{{/* The ServiceAccount of the services that do not talk to Kubernetes (no token mounted). */}}
{{- define "jo.serviceAccount" -}}
{{- include "jo.fullname" . }}
{{- end }}

{{/* Where job-deployer deploys: its namespace setting, or the release's. */}}
{{- define "jo.jobsNamespace" -}}
{{- .Values.deployer.namespace | default .Release.Namespace }}
{{- end }}

{{/* A service's settings: `common` with the service's own entry over it, as JSON
     (dict "root" $ "component" "job-history"). */}}
{{- define "jo.serviceValues" -}}
{{- $own := index .root.Values.services .component }}
{{- mergeOverwrite (deepCopy .root.Values.common) (deepCopy $own) | toJson }}
{{- end }}

{{/* The URL of a service inside the cluster: (dict "root" $ "component" "job-history"). */}}
{{- define "jo.serviceUrl" -}}
{{- $own := index .root.Values.services .component }}
{{- printf "http://%s:%v" (include "jo.componentName" .) $own.port }}
{{- end }}

{{/* Whether a service runs more than one replica (or has an HPA): then it gets a PDB. */}}
{{- define "jo.replicated" -}}
{{- if or (and .hpa.enabled (include "jo.stateless" .component)) (gt (int .replicas) 1) }}true{{ end }}
{{- end }}

{{/* The services that keep no state of their own and may be scaled by an HPA. */}}
{{- define "jo.stateless" -}}
{{- if has . (list "auth-gateway" "nexus-catalog" "job-history") }}true{{ end }}
{{- end }}

{{/* A secretKeyRef env entry: (list "NAME" "secret" "key"). */}}
{{- define "jo.secretEnv" -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ index . 1 }}
      key: {{ index . 2 }}
{{- end }}

{{/* A plain env entry, left out when the value is empty: (list "NAME" value). */}}
{{- define "jo.env" -}}
{{- $value := index . 1 }}
{{- /* Values' numbers are float64: printed as they are, 1000000 would be 1e+06. */}}
{{- if kindIs "float64" $value }}{{ $value = int64 $value }}{{ end }}
{{- if or (kindIs "bool" $value) (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) $value }}
- name: {{ index . 0 }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/* DATABASE_URL for job-history, its consumer and the migrations: from the Secret's URL key, or
     made of the values and the Secret's password (Kubernetes expands $(DATABASE_PASSWORD)). */}}
{{- define "jo.databaseEnv" -}}
{{- $pg := .Values.postgres }}
{{- $secret := required "postgres.existingSecret is required: the Secret holding the database's URL or password" $pg.existingSecret }}
{{- if $pg.urlKey }}
{{ include "jo.secretEnv" (list "DATABASE_URL" $secret $pg.urlKey) }}
{{- else }}
{{- $host := required "postgres.host is required unless postgres.urlKey names the Secret's key holding the whole URL" $pg.host }}
{{ include "jo.secretEnv" (list "DATABASE_PASSWORD" $secret $pg.passwordKey) }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DATABASE_PASSWORD)@%s:%v/%s%s" ($pg.user | urlquery) $host $pg.port $pg.database (ternary (printf "?%s" $pg.params) "" (ne $pg.params "")) | quote }}
{{- end }}
{{- end }}

{{/* The environment that every service shares: (dict "root" $ "component" "job-history" "values" $svc). */}}
{{- define "jo.commonEnv" -}}
{{- $prefix := .component | upper | replace "-" "_" }}
- name: {{ $prefix }}_LISTEN
  value: {{ printf "0.0.0.0:%v" .values.port | quote }}
- name: {{ $prefix }}_SHUTDOWN_TIMEOUT_SECS
  value: {{ .values.shutdownTimeoutSecs | int64 | quote }}
- name: LOG_FORMAT
  value: {{ .root.Values.logging.format | quote }}
- name: RUST_LOG
  value: {{ .root.Values.logging.filter | quote }}
- name: AUTH_JWKS_URL
  value: {{ printf "%s/.well-known/jwks.json" (include "jo.serviceUrl" (dict "root" .root "component" "auth-gateway")) | quote }}
{{- end }}

