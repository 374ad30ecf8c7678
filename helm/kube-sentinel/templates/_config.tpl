{{/*
config.yaml for each Deployment. Only keys of src/config/schema.ts appear here: the server rejects
unknown keys, and test/deploy validates the rendered files against that schema.
*/}}

{{- /* (list root admission): admission is true only for the webhook pods' config. */}}
{{- define "kube-sentinel.config.common" -}}
{{- $admission := index . 1 }}
{{- with index . 0 }}
web:
  listen: 0.0.0.0:8443
  base_path: {{ .Values.config.web.basePath | quote }}
  body_limit: {{ .Values.config.web.bodyLimit | quote }}
  {{- with .Values.notifications.externalUrl }}
  external_url: {{ . | quote }}
  {{- end }}
  {{- if $admission }}
  # Admission reviews arrive here only, through the <fullname>-admission Service.
  admission_listen: 0.0.0.0:{{ int .Values.admissionWebhook.port }}
  {{- end }}
tls:
  cert_file: /etc/kube-sentinel/tls/tls.crt
  key_file: /etc/kube-sentinel/tls/tls.key
  {{- if .Values.tls.clientCA.existingSecret }}
  client_ca_file: /etc/kube-sentinel/tls/client-ca.crt
  {{- end }}
  # A missing certificate must fail startup rather than silently serve a throwaway one.
  self_signed: false
{{- end }}
{{- end }}

{{- define "kube-sentinel.config.store" -}}
store:
  {{- if eq (include "kube-sentinel.storeMode" .) "sqlite" }}
  type: sqlite
  path: /var/lib/kube-sentinel/kube-sentinel.db
  {{- else }}
  # The URL comes from the DATABASE_URL environment variable (a Secret), never from this file.
  type: postgres
  {{- end }}
  retention: {{ .Values.config.store.retention | quote }}
  max_occurrences: {{ int .Values.config.store.maxOccurrences }}
{{- end }}

{{- define "kube-sentinel.config.main" -}}
role: {{ include "kube-sentinel.mainRole" . }}
{{ include "kube-sentinel.config.common" (list . .Values.admissionWebhook.enabled) }}
auth:
  ingest_tokens_file: /etc/kube-sentinel/tokens/ingest-tokens
  read_tokens_file: /etc/kube-sentinel/tokens/read-tokens
  admin_tokens_file: /etc/kube-sentinel/tokens/admin-tokens
{{ include "kube-sentinel.config.store" . }}
kubernetes:
  in_cluster: true
leader_election:
  enabled: true
  lease_name: {{ include "kube-sentinel.leaseName" . }}
  namespace: {{ .Release.Namespace }}
  lease_duration: {{ .Values.config.leaderElection.leaseDuration | quote }}
  renew_deadline: {{ .Values.config.leaderElection.renewDeadline | quote }}
  retry_period: {{ .Values.config.leaderElection.retryPeriod | quote }}
{{- $r := .Values.config.remediation }}
remediation:
  enabled: {{ $r.enabled }}
  dry_run: {{ $r.dryRun }}
  max_actions_per_hour: {{ int $r.maxActionsPerHour }}
  max_attempts: {{ int $r.maxAttempts }}
  # The release namespace is always excluded: the server must never remediate itself.
  excluded_namespaces:
    {{- range append $r.excludedNamespaces .Release.Namespace | uniq }}
    - {{ . | quote }}
    {{- end }}
{{ include "kube-sentinel.config.notifications" . }}
{{- end }}

{{/* The read-only dashboard: no ingest or admin tokens, no cluster access, no remediation. */}}
{{- define "kube-sentinel.config.dashboard" -}}
role: dashboard
{{ include "kube-sentinel.config.common" (list . false) }}
auth:
  read_tokens_file: /etc/kube-sentinel/tokens/read-tokens
{{ include "kube-sentinel.config.store" . }}
remediation:
  enabled: false
{{- end }}

{{- define "kube-sentinel.rules" -}}
{{- .Values.rules | default (.Files.Get "files/rules.yaml") }}
{{- end }}
