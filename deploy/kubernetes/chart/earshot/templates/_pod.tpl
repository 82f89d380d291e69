{{/* The pod spec of a role; . is (dict "root" $ "role" NAME "res" RESOURCES). */}}
{{- define "earshot.podSpec" -}}
{{- $v := .root.Values -}}
containers:
  - name: {{ .role }}
    image: "{{ $v.image.repository }}:{{ $v.image.tag }}"
    imagePullPolicy: {{ $v.image.pullPolicy }}
    args: [{{ .role | quote }}, "--config", "/etc/earshot/earshot.yaml"]
    env:
      - name: EARSHOT_CLICKHOUSE_PASSWORD
        valueFrom:
          secretKeyRef:
            name: {{ $v.clickhouse.passwordSecret.name }}
            key: {{ $v.clickhouse.passwordSecret.key }}
    {{- if ne .role "migrate" }}
    ports:
      - name: http
        containerPort: {{ $v.httpPort }}
    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 10
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 20
    {{- end }}
    {{- with .res }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    volumeMounts:
      - {name: config, mountPath: /etc/earshot/earshot.yaml, subPath: earshot.yaml, readOnly: true}
      - {name: data, mountPath: /var/lib/earshot}
      {{- if $v.natsClient.tls.secretName }}
      - {name: nats-tls, mountPath: /etc/earshot/nats-tls, readOnly: true}
      {{- end }}
      {{- if or $v.natsClient.credsSecret $v.natsClient.nkeySecret }}
      - {name: nats-auth, mountPath: /etc/earshot/nats-auth, readOnly: true}
      {{- end }}
      {{- if $v.clickhouse.tls.secretName }}
      - {name: clickhouse-tls, mountPath: /etc/earshot/clickhouse-tls, readOnly: true}
      {{- end }}
volumes:
  - name: config
    configMap: {name: {{ include "earshot.fullname" .root }}}
  - name: data
    emptyDir: {}
  {{- if $v.natsClient.tls.secretName }}
  - name: nats-tls
    secret: {secretName: {{ $v.natsClient.tls.secretName }}}
  {{- end }}
  {{- if or $v.natsClient.credsSecret $v.natsClient.nkeySecret }}
  - name: nats-auth
    secret: {secretName: {{ default $v.natsClient.nkeySecret $v.natsClient.credsSecret }}}
  {{- end }}
  {{- if $v.clickhouse.tls.secretName }}
  - name: clickhouse-tls
    secret: {secretName: {{ $v.clickhouse.tls.secretName }}}
  {{- end }}
{{- end -}}
