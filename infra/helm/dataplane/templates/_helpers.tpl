{{/* Names: <release>-<component>, cut to 63 characters (a DNS label). */}}
{{- define "dataplane.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dataplane.labels" -}}
app.kubernetes.io/name: dataplane
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: sadeem
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "dataplane.selectorLabels" -}}
app.kubernetes.io/name: dataplane
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference: {root, image}; global.imageRegistry prefixes it (air-gapped mirrors). */}}
{{- define "dataplane.image" -}}
{{- $registry := .root.Values.global.imageRegistry -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .image.repository .image.tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository .image.tag -}}
{{- end -}}
{{- end -}}

{{- define "dataplane.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level security: non-root, the runtime's default seccomp profile. */}}
{{- define "dataplane.podSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .uid }}
  runAsGroup: {{ .uid }}
  fsGroup: {{ .uid }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Container-level security: no privilege escalation, every capability dropped. */}}
{{- define "dataplane.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: {{ .readOnly | default false }}
  capabilities:
    drop: [ALL]
{{- end -}}

{{- define "dataplane.scheduling" -}}
{{- $domain := index .root.Values.schedulingDomains .domain -}}
{{- with $domain.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $domain.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The S3 endpoint every client of this release uses. */}}
{{- define "dataplane.s3Endpoint" -}}
{{- $store := .Values.objectStore -}}
{{- if eq $store.type "external" -}}
{{- required "objectStore.external.endpoint is required when objectStore.type is external" $store.external.endpoint -}}
{{- else if eq $store.type "minio" -}}
{{- printf "http://%s.%s.svc.cluster.local:9000" (include "dataplane.name" (dict "root" . "component" "minio")) .Release.Namespace -}}
{{- else -}}
{{- printf "http://%s.%s.svc.cluster.local:8333" (include "dataplane.name" (dict "root" . "component" "s3")) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The S3 keys as environment variables (from the existing Secret only). */}}
{{- define "dataplane.s3Env" -}}
- name: {{ .accessName }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.objectStore.existingSecret }}
      key: {{ .root.Values.objectStore.accessKeyIdKey }}
- name: {{ .secretName }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.objectStore.existingSecret }}
      key: {{ .root.Values.objectStore.secretAccessKeyKey }}
{{- end -}}

{{/* The Iceberg REST catalog URI Trino and Spark use. */}}
{{- define "dataplane.catalogUri" -}}
{{- if eq .Values.catalog.type "external" -}}
{{- required "catalog.external.uri is required when catalog.type is external" .Values.catalog.external.uri -}}
{{- else -}}
{{- printf "%s/iceberg" (trimSuffix "/" .Values.catalog.controlPlane.url) -}}
{{- end -}}
{{- end -}}

{{- define "dataplane.catalogTokenEndpoint" -}}
{{- if and (eq .Values.catalog.type "external") .Values.catalog.external.oauth2ServerUri -}}
{{- .Values.catalog.external.oauth2ServerUri -}}
{{- else -}}
{{- printf "%s/v1/oauth/tokens" (include "dataplane.catalogUri" .) -}}
{{- end -}}
{{- end -}}

{{- define "dataplane.trinoName" -}}
{{- include "dataplane.name" (dict "root" . "component" "trino") -}}
{{- end -}}
