{{/* Names and labels. */}}
{{- define "sadeem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sadeem.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "sadeem.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "sadeem.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sadeem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sadeem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sadeem.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sadeem.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sadeem
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component (api, worker, scheduler, migrate, postgresql): pass (list $ "api"). */}}
{{- define "sadeem.componentLabels" -}}
{{ include "sadeem.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}
{{- define "sadeem.componentSelector" -}}
{{ include "sadeem.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "sadeem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sadeem.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sadeem.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "sadeem.apiPort" -}}
{{- .Values.config.port | default 8000 | int64 -}}
{{- end -}}

{{- define "sadeem.catalogUrl" -}}
{{- printf "http://%s-api.%s.svc.cluster.local:%d/iceberg" (include "sadeem.fullname" .) .Release.Namespace (.Values.api.service.port | int64) -}}
{{- end -}}

{{/* The settings the chart decides when `config` leaves them null. */}}
{{- define "sadeem.chartConfig" -}}
home: /var/lib/sadeem
host: 0.0.0.0
port: {{ include "sadeem.apiPort" . }}
embedded_workers: false
catalog_url: {{ include "sadeem.catalogUrl" . }}
spark_local_enabled: false
statement_results_dir: /var/lib/sadeem/statement-results
log_format: json
{{- end -}}

{{/*
Every SADEEM_* variable, the same in every Sadeem container: the secret settings from Secrets
(secretKeyRef, never a value), then each non-null `config` entry (scripts/chart_settings.py).
Whole numbers are printed as integers (values arrive as float64), lists and maps as JSON.
*/}}
{{- define "sadeem.env" -}}
{{- if .Values.postgresql.enabled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret | quote }}, key: {{ .Values.postgresql.passwordKey | quote }}}
- name: SADEEM_DATABASE_URL
  value: {{ printf "postgresql+psycopg://%s:$(POSTGRES_PASSWORD)@%s-postgresql:5432/%s" .Values.postgresql.username (include "sadeem.fullname" .) .Values.postgresql.database | quote }}
{{- else }}
- name: SADEEM_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret | quote }}, key: {{ .Values.secrets.databaseUrlKey | quote }}}
{{- end }}
- name: SADEEM_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret | quote }}, key: {{ .Values.secrets.secretKeyKey | quote }}}
{{- if .Values.secrets.adminPasswordKey }}
- name: SADEEM_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.existingSecret | quote }}, key: {{ .Values.secrets.adminPasswordKey | quote }}}
{{- end }}
{{- with .Values.objectStorage.existingSecret }}
- name: SADEEM_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.objectStorage.accessKeyIdKey | quote }}}
- name: SADEEM_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ . | quote }}, key: {{ $.Values.objectStorage.secretAccessKeyKey | quote }}}
{{- end }}
{{- $config := merge (dict) (include "sadeem.chartConfig" . | fromYaml) }}
{{- range $name, $value := .Values.config }}
{{- if not (kindIs "invalid" $value) }}
{{- $_ := set $config $name $value }}
{{- end }}
{{- end }}
{{- range $name := keys $config | sortAlpha }}
{{- $value := get $config $name }}
- name: SADEEM_{{ upper $name }}
  {{- if or (kindIs "map" $value) (kindIs "slice" $value) }}
  value: {{ toJson $value | quote }}
  {{- else if and (kindIs "float64" $value) (eq $value (floor $value)) }}
  value: {{ int64 $value | quote }}
  {{- else }}
  value: {{ toString $value | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts every Sadeem container has: a writable home and /tmp on a read-only root. */}}
{{- define "sadeem.volumes" -}}
- name: home
  emptyDir:
    sizeLimit: {{ .Values.homeSizeLimit }}
- name: tmp
  emptyDir:
    sizeLimit: 1Gi
{{- end -}}
{{- define "sadeem.volumeMounts" -}}
- name: home
  mountPath: /var/lib/sadeem
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "sadeem.podSpecCommon" -}}
# Sadeem reaches Kubernetes with the spark_k8s connection's token, never the pod's own.
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Checks values that a JSON schema cannot express. */}}
{{- define "sadeem.validate" -}}
{{- $apiPods := .Values.api.replicas -}}
{{- if .Values.api.autoscaling.enabled }}{{ $apiPods = .Values.api.autoscaling.maxReplicas }}{{ end -}}
{{- if and (gt (int64 $apiPods) 1) (not .Values.statementResults.persistence.enabled) -}}
{{- fail "statementResults.persistence.enabled: more than one API pod (api.replicas or api.autoscaling.maxReplicas) needs a shared ReadWriteMany volume for statement results" -}}
{{- end -}}
{{- if and .Values.api.autoscaling.enabled (gt (int64 .Values.api.autoscaling.minReplicas) (int64 .Values.api.autoscaling.maxReplicas)) -}}
{{- fail "api.autoscaling.minReplicas: must not exceed api.autoscaling.maxReplicas" -}}
{{- end -}}
{{- if not (hasPrefix "s3://" (toString .Values.config.warehouse)) -}}
{{- fail "config.warehouse: must be s3://bucket[/prefix] on Kubernetes (a file:// warehouse would be local to one pod)" -}}
{{- end -}}
{{- end -}}

{{/*
Probes of the worker and the scheduler, which serve no HTTP: `sadeem db current` in the pod's own
environment proves its configuration, Secret and database connection work. It does not look into the
running process's loop (their liveness is in the database: service_heartbeats, shown by
GET /api/v1/health/components), so the liveness threshold is long.
*/}}
{{- define "sadeem.processProbes" -}}
startupProbe:
  exec: {command: [sadeem, db, current]}
  periodSeconds: 10
  timeoutSeconds: 30
  failureThreshold: 30
readinessProbe:
  exec: {command: [sadeem, db, current]}
  periodSeconds: 60
  timeoutSeconds: 30
  failureThreshold: 3
livenessProbe:
  exec: {command: [sadeem, db, current]}
  periodSeconds: 120
  timeoutSeconds: 30
  failureThreshold: 5
{{- end -}}
