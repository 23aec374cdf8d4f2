{{/*
Named templates shared by the chart's manifests: names, labels, the image reference, the Secret
names in use, and the checks of values that the schema cannot express alone.
*/}}

{{/* The chart's name (nameOverride wins), cut to a DNS label. */}}
{{- define "govcloud.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every object's name: fullnameOverride, else the release name when it contains the
chart's name, else RELEASE-CHART. Cut to 40 characters so that suffixes such as "-agent-ca" and
"-metrics" keep names within 63.
*/}}
{{- define "govcloud.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "govcloud.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the controller's pods (never change across upgrades). */}}
{{- define "govcloud.selectorLabels" -}}
app.kubernetes.io/name: {{ include "govcloud.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Labels of every object of the release. */}}
{{- define "govcloud.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "govcloud.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: govcloud
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "govcloud.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "govcloud.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "govcloud.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the database URL, and its key (storage.mode postgres). */}}
{{- define "govcloud.databaseSecretName" -}}
{{- if .Values.storage.postgres.url -}}
{{- printf "%s-database" (include "govcloud.fullname" .) -}}
{{- else -}}
{{- required "storage.postgres.existingSecret (or storage.postgres.url) is required with storage.mode postgres" .Values.storage.postgres.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "govcloud.databaseSecretKey" -}}
{{- if .Values.storage.postgres.url -}}
url
{{- else -}}
{{- .Values.storage.postgres.existingSecretKey -}}
{{- end -}}
{{- end -}}

{{/* The Secret of the controller API's serving certificate. */}}
{{- define "govcloud.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "govcloud.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{/* The Secret of the agent CA. */}}
{{- define "govcloud.agentCASecretName" -}}
{{- default (printf "%s-agent-ca" (include "govcloud.fullname" .)) .Values.agentCA.existingSecret -}}
{{- end -}}

{{/* The PersistentVolumeClaim of the SQLite database (storage.mode sqlite). */}}
{{- define "govcloud.dataClaimName" -}}
{{- default (printf "%s-data" (include "govcloud.fullname" .)) .Values.storage.sqlite.persistence.existingClaim -}}
{{- end -}}

{{/*
The number of replicas, after the checks the schema also makes (for installs that skip schema
validation): at least 0, and at most one with SQLite.
*/}}
{{- define "govcloud.replicas" -}}
{{- $replicas := int .Values.replicas -}}
{{- if lt $replicas 0 -}}
{{- fail (printf "replicas: %d is negative" $replicas) -}}
{{- end -}}
{{- if and (eq .Values.storage.mode "sqlite") (gt $replicas 1) -}}
{{- fail (printf "replicas: %d with storage.mode sqlite: SQLite has one writer, so at most one replica; use storage.mode postgres for more" $replicas) -}}
{{- end -}}
{{- if not (has .Values.storage.mode (list "postgres" "sqlite")) -}}
{{- fail (printf "storage.mode: %q is not postgres or sqlite" .Values.storage.mode) -}}
{{- end -}}
{{- $replicas -}}
{{- end -}}
