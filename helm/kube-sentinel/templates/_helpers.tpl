{{/* Names ------------------------------------------------------------------------------------ */}}

{{- define "kube-sentinel.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kube-sentinel.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Names derived from the full name; suffixed ones are cut so the suffix always survives. */}}
{{- define "kube-sentinel.suffixed" -}}
{{- $root := index . 0 }}{{- $suffix := index . 1 }}
{{- printf "%s-%s" (include "kube-sentinel.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "kube-sentinel.dashboardName" -}}{{ include "kube-sentinel.suffixed" (list . "dashboard") }}{{- end }}
{{- define "kube-sentinel.postgresName" -}}{{ include "kube-sentinel.suffixed" (list . "postgresql") }}{{- end }}
{{- define "kube-sentinel.tokensSecretName" -}}
{{- .Values.auth.existingSecret | default (include "kube-sentinel.suffixed" (list . "tokens")) }}
{{- end }}

{{- define "kube-sentinel.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- .Values.webhook.serviceAccount.name | default (include "kube-sentinel.fullname" .) }}
{{- else }}
{{- .Values.webhook.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{- define "kube-sentinel.dashboardServiceAccountName" -}}
{{- if .Values.dashboard.serviceAccount.create }}
{{- .Values.dashboard.serviceAccount.name | default (include "kube-sentinel.dashboardName" .) }}
{{- else }}
{{- .Values.dashboard.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{- define "kube-sentinel.leaseName" -}}
{{- .Values.config.leaderElection.leaseName | default (include "kube-sentinel.suffixed" (list . "leader")) }}
{{- end }}

{{- define "kube-sentinel.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* Labels ----------------------------------------------------------------------------------- */}}

{{- define "kube-sentinel.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "kube-sentinel.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-sentinel
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Call with (list $ "component"). */}}
{{- define "kube-sentinel.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "kube-sentinel.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "kube-sentinel.componentLabels" -}}
{{ include "kube-sentinel.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Decisions --------------------------------------------------------------------------------- */}}

{{/* sqlite | postgres-external | postgres-bundled */}}
{{- define "kube-sentinel.storeMode" -}}
{{- $pg := .Values.postgresql }}
{{- if $pg.external.existingSecret }}postgres-external
{{- else if eq (toString $pg.enabled) "true" }}postgres-bundled
{{- else if and (eq (toString $pg.enabled) "auto") (gt (int .Values.webhook.replicas) 1) }}postgres-bundled
{{- /* Scaling an existing release down to one replica must not silently move it off its database. */}}
{{- else if and (eq (toString $pg.enabled) "auto") (lookup "apps/v1" "StatefulSet" .Release.Namespace (include "kube-sentinel.postgresName" .)) }}postgres-bundled
{{- else }}sqlite
{{- end }}
{{- end }}

{{/* The main pods' role: `all` whenever the store is SQLite (one process owns the file). */}}
{{- define "kube-sentinel.mainRole" -}}
{{- if eq (include "kube-sentinel.storeMode" .) "sqlite" }}all{{ else }}{{ .Values.role }}{{ end }}
{{- end }}

{{/* "true" when the dashboard runs as its own Deployment. */}}
{{- define "kube-sentinel.separateDashboard" -}}
{{- if and .Values.dashboard.enabled (eq (include "kube-sentinel.mainRole" .) "webhook") }}true{{ end }}
{{- end }}

{{/* "true" when some pod serves the dashboard (and so the dashboard Service has endpoints). */}}
{{- define "kube-sentinel.hasDashboard" -}}
{{- if or (include "kube-sentinel.separateDashboard" .) (eq (include "kube-sentinel.mainRole" .) "all") }}true{{ end }}
{{- end }}

{{/* generate | existingSecret | certManager */}}
{{- define "kube-sentinel.tlsMode" -}}
{{- $tls := .Values.tls }}
{{- if ne $tls.mode "auto" }}{{ $tls.mode }}
{{- else if $tls.existingSecret }}existingSecret
{{- else if $tls.certManager.enabled }}certManager
{{- else }}generate
{{- end }}
{{- end }}

{{- define "kube-sentinel.tlsSecretName" -}}
{{- if eq (include "kube-sentinel.tlsMode" .) "existingSecret" }}{{ .Values.tls.existingSecret }}
{{- else }}{{ include "kube-sentinel.suffixed" (list . "tls") }}
{{- end }}
{{- end }}

{{/* Every DNS name the serving certificate must cover: both Services, short and qualified. */}}
{{/* The Service the ValidatingWebhookConfiguration calls (port `admission`). */}}
{{- define "kube-sentinel.admissionName" -}}
{{- include "kube-sentinel.suffixed" (list . "admission") }}
{{- end }}

{{- define "kube-sentinel.dnsNames" -}}
{{- $ns := .Release.Namespace }}
{{- range $svc := list (include "kube-sentinel.fullname" .) (include "kube-sentinel.dashboardName" .) (include "kube-sentinel.admissionName" .) }}
- {{ $svc }}
- {{ $svc }}.{{ $ns }}
- {{ $svc }}.{{ $ns }}.svc
- {{ $svc }}.{{ $ns }}.svc.cluster.local
{{- end }}
{{- end }}

{{/* Refuse combinations that would install but never work. */}}
{{- define "kube-sentinel.validate" -}}
{{- $replicas := int .Values.webhook.replicas }}
{{- if and (eq (include "kube-sentinel.storeMode" .) "sqlite") (gt $replicas 1) }}
{{- fail "webhook.replicas > 1 needs PostgreSQL: set postgresql.enabled=auto|true or postgresql.external.existingSecret (SQLite serves a single replica)" }}
{{- end }}
{{- $minAvailable := .Values.webhook.pdb.minAvailable }}
{{- if and .Values.webhook.pdb.enabled (gt $replicas 1) (not (kindIs "invalid" $minAvailable)) (ge (int $minAvailable) $replicas) }}
{{- fail (printf "webhook.pdb.minAvailable (%d) must be below webhook.replicas (%d), otherwise no node can ever be drained" (int $minAvailable) $replicas) }}
{{- end }}
{{- $tls := .Values.tls }}
{{- if and $tls.existingSecret $tls.certManager.enabled (eq $tls.mode "auto") }}
{{- fail "tls.existingSecret and tls.certManager.enabled are both set: choose one, or set tls.mode" }}
{{- end }}
{{- if and (eq (include "kube-sentinel.tlsMode" .) "existingSecret") (not $tls.existingSecret) }}
{{- fail "tls.mode=existingSecret needs tls.existingSecret" }}
{{- end }}
{{- if and .Values.dashboard.ingress.enabled (not (include "kube-sentinel.hasDashboard" .)) }}
{{- fail "dashboard.ingress.enabled needs a dashboard: set dashboard.enabled=true or role=all" }}
{{- end }}
{{- end }}

{{/* Security ---------------------------------------------------------------------------------- */}}

{{/* Pod-level context meeting the "restricted" Pod Security Standard. Call with the UID. */}}
{{- define "kube-sentinel.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "kube-sentinel.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Pod template parts shared by the webhook and dashboard Deployments ------------------------- */}}

{{- define "kube-sentinel.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: https, scheme: HTTPS}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: https, scheme: HTTPS}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: https, scheme: HTTPS}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{- define "kube-sentinel.podEnv" -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
{{- end }}

{{/* Secret name and key holding the primary DATABASE_URL, as "name/key"; empty for SQLite. */}}
{{- define "kube-sentinel.databaseSecretRef" -}}
{{- $mode := include "kube-sentinel.storeMode" . }}
{{- if eq $mode "postgres-external" }}{{ .Values.postgresql.external.existingSecret }}/{{ .Values.postgresql.external.key }}
{{- else if eq $mode "postgres-bundled" }}{{ include "kube-sentinel.postgresName" . }}/DATABASE_URL
{{- end }}
{{- end }}

{{/*
One projected volume for everything under /etc/kube-sentinel. A single volume (rather than nested
mounts) keeps updates atomic and lets the kubelet refresh rules.yaml, certificates and tokens in
place. Call with (dict "root" $ "configMap" NAME "tokens" (list KEY...)).
*/}}
{{- define "kube-sentinel.etcVolume" -}}
{{- $root := .root -}}
- name: etc
  projected:
    defaultMode: 0440
    sources:
      - configMap:
          name: {{ .configMap }}
          items: [{key: config.yaml, path: config.yaml}]
      - configMap:
          name: {{ include "kube-sentinel.suffixed" (list $root "rules") }}
          items: [{key: rules.yaml, path: rules.yaml}]
      - secret:
          name: {{ include "kube-sentinel.tlsSecretName" $root }}
          items:
            - {key: tls.crt, path: tls/tls.crt}
            - {key: tls.key, path: tls/tls.key}
      {{- with $root.Values.tls.clientCA.existingSecret }}
      - secret:
          name: {{ . }}
          items: [{key: {{ $root.Values.tls.clientCA.key }}, path: tls/client-ca.crt}]
      {{- end }}
      - secret:
          name: {{ include "kube-sentinel.tokensSecretName" $root }}
          items:
            {{- range .tokens }}
            - {key: {{ . }}, path: tokens/{{ . }}}
            {{- end }}
{{- end }}
