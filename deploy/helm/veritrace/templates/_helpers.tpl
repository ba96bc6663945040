{{/* The release's base name (StatefulSet, services, config). */}}
{{- define "veritrace.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "veritrace.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "veritrace.labels" -}}
{{ include "veritrace.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
veritrace.dev/party: {{ .Values.partyId | quote }}
{{- end -}}

{{- define "veritrace.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The in-cluster DNS name of pod $i: dict "root" . "i" $i */}}
{{- define "veritrace.podHost" -}}
{{- $full := include "veritrace.fullname" .root -}}
{{- printf "%s-%d.%s-peers.%s.svc.cluster.local" $full (int .i) $full .root.Release.Namespace -}}
{{- end -}}

{{- define "veritrace.p2pAdvertise" -}}
{{- if gt (len (.root.Values.advertise.p2p | default list)) (int .i) -}}
{{- index .root.Values.advertise.p2p (int .i) -}}
{{- else -}}
{{- printf "/dns4/%s/tcp/%d" (include "veritrace.podHost" .) (int .root.Values.ports.p2p) -}}
{{- end -}}
{{- end -}}

{{- define "veritrace.apiAdvertise" -}}
{{- if gt (len (.root.Values.advertise.api | default list)) (int .i) -}}
{{- index .root.Values.advertise.api (int .i) -}}
{{- else -}}
{{- printf "%s://%s:%d" (ternary "https" "http" .root.Values.tls.enabled) (include "veritrace.podHost" .) (int .root.Values.ports.grpc) -}}
{{- end -}}
{{- end -}}
