{{/*
Notifications (README "Notifications"): the `notifications:` block of config.yaml and the projected
volume of their secrets. Secrets live in existing Secrets and reach the pod as files under
/etc/kube-sentinel-notify/<receiver>/; config.yaml only names those files.
*/}}

{{- define "kube-sentinel.notifyDir" -}}/etc/kube-sentinel-notify{{- end }}

{{- define "kube-sentinel.config.notifications" -}}
{{- $n := .Values.notifications }}
{{- if $n.receivers }}
{{- $dir := include "kube-sentinel.notifyDir" . }}
notifications:
  group_wait: {{ $n.groupWait | quote }}
  max_attempts: {{ int $n.maxAttempts }}
  rate_limit:
    max: {{ int $n.rateLimit.max }}
    window: {{ $n.rateLimit.window | quote }}
  receivers:
    {{- range $n.receivers }}
    {{- $base := printf "%s/%s" $dir .name }}
    - name: {{ .name | quote }}
      {{- $transport := dict }}
      {{- if .timeout }}{{ $_ := set $transport "timeout" .timeout }}{{ end }}
      {{- if .caSecret }}{{ $_ := set $transport "ca_file" (printf "%s/ca.crt" $base) }}{{ end }}
      {{- if .slack }}
      slack:
        webhook_url_file: {{ $base }}/slack-url
      {{- else if .pagerduty }}
      pagerduty:
        routing_key_file: {{ $base }}/routing-key
        {{- with .pagerduty.url }}
        url: {{ . | quote }}
        {{- end }}
      {{- else if .alertmanager }}
      alertmanager:
        url: {{ .alertmanager.url | quote }}
        {{- if .alertmanager.bearerTokenSecret }}
        bearer_token_file: {{ $base }}/bearer-token
        {{- end }}
      {{- else if .webhook }}
      webhook:
        url: {{ .webhook.url | quote }}
        {{- if .webhook.hmacSecret }}
        hmac_secret_file: {{ $base }}/hmac-secret
        {{- end }}
        {{- if .webhook.bearerTokenSecret }}
        bearer_token_file: {{ $base }}/bearer-token
        {{- end }}
      {{- end }}
        {{- range $k, $v := $transport }}
        {{ $k }}: {{ $v | quote }}
        {{- end }}
    {{- end }}
  {{- with $n.routes }}
  routes:
    {{- range . }}
    {{- /* YAML 1.1 (Helm's parser) reads an unquoted `on:` key as true: give it its name back. */}}
    {{- $route := deepCopy . }}
    {{- if hasKey $route "true" }}{{ $_ := set $route "on" (get $route "true") }}{{ $_ := unset $route "true" }}{{ end }}
    - {{- toYaml $route | nindent 6 }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/* One projected source per secret a receiver names: (secret ref, file name). */}}
{{- define "kube-sentinel.notifyVolume" -}}
{{- if .Values.notifications.receivers }}
- name: notify
  projected:
    defaultMode: 0440
    sources:
      {{- range .Values.notifications.receivers }}
      {{- $name := .name }}
      {{- $refs := list }}
      {{- with .slack }}{{ $refs = append $refs (list .webhookUrlSecret "slack-url") }}{{ end }}
      {{- with .pagerduty }}{{ $refs = append $refs (list .routingKeySecret "routing-key") }}{{ end }}
      {{- with .alertmanager }}{{ with .bearerTokenSecret }}{{ $refs = append $refs (list . "bearer-token") }}{{ end }}{{ end }}
      {{- with .webhook }}{{ with .hmacSecret }}{{ $refs = append $refs (list . "hmac-secret") }}{{ end }}{{ end }}
      {{- with .webhook }}{{ with .bearerTokenSecret }}{{ $refs = append $refs (list . "bearer-token") }}{{ end }}{{ end }}
      {{- with .caSecret }}{{ $refs = append $refs (list . "ca.crt") }}{{ end }}
      {{- range $refs }}
      - secret:
          name: {{ (index . 0).name }}
          items: [{key: {{ (index . 0).key | quote }}, path: {{ printf "%s/%s" $name (index . 1) }}}]
      {{- end }}
      {{- end }}
{{- end }}
{{- end }}
