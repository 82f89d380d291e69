{{- define "earshot.fullname" -}}
{{- printf "%s-earshot" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "earshot.labels" -}}
app.kubernetes.io/name: earshot
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The native addresses of the ClickHouse servers. */}}
{{- define "earshot.clickhouseAddrs" -}}
{{- if .Values.clickhouse.addrs -}}
{{- toJson .Values.clickhouse.addrs -}}
{{- else -}}
{{- $port := ternary 9440 9000 (ne .Values.clickhouse.tls.secretName "") -}}
{{- toJson (list (printf "clickhouse-%s.%s.svc:%v" (include "earshot.fullname" .) .Release.Namespace $port)) -}}
{{- end -}}
{{- end -}}

{{- define "earshot.natsURLs" -}}
{{- if .Values.natsClient.urls -}}
{{- toJson .Values.natsClient.urls -}}
{{- else -}}
{{- $scheme := ternary "tls" "nats" (ne .Values.natsClient.tls.secretName "") -}}
{{- toJson (list (printf "%s://%s-nats.%s.svc:4222" $scheme .Release.Name .Release.Namespace)) -}}
{{- end -}}
{{- end -}}
