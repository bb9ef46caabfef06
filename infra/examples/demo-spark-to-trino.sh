#!/usr/bin/env bash
# The spec's demo on a real cluster: Spark (a SparkApplication through the Spark Operator) writes an
# Iceberg table into Sadeem's catalog, Trino reads it back, and the rows are printed.
#
# Needs: kubectl with access to the cluster, the data plane chart installed (infra/helm/dataplane),
# the control plane running, and a Sadeem personal access token of an editor of the workspace.
#
#   SADEEM_TOKEN=sdm_... WORKSPACE=demo infra/examples/demo-spark-to-trino.sh
#
# Settings (environment): DATAPLANE_NAMESPACE (default sadeem), RELEASE (sadeemplane),
# WORKSPACE (demo), SADEEM_USER (admin: the token's owner, also the Trino user, whom the chart's
# rules must let read the workspace), TIMEOUT_SECONDS (600). The token never appears on a command
# line here or in a manifest: it reaches the Spark driver through a Secret (as Sadeem's spark_k8s
# engine does) and the Trino CLI on its standard input (as the extra credential `token`, with
# which Trino's Iceberg catalog calls Sadeem's catalog for this query).
set -euo pipefail

DATAPLANE_NAMESPACE="${DATAPLANE_NAMESPACE:-sadeem}"
RELEASE="${RELEASE:-sadeemplane}"
WORKSPACE="${WORKSPACE:-demo}"
SADEEM_USER="${SADEEM_USER:-admin}"
TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-600}"
TABLE="demo_spark_to_trino"
APP="sadeem-demo-spark-to-trino"

if [[ -z "${SADEEM_TOKEN:-}" ]]; then
  echo "Set SADEEM_TOKEN to a Sadeem personal access token of an editor of workspace ${WORKSPACE}." >&2
  exit 2
fi

setting() {
  # One value of the chart's connection-settings ConfigMap (what the chart deployed, by name).
  local key="${1//./\\.}"
  kubectl -n "${DATAPLANE_NAMESPACE}" get configmap "${RELEASE}-connection-settings" \
    -o "jsonpath={.data.${key}}"
}

JOB_NAMESPACE="$(setting spark_k8s.namespace)"
SERVICE_ACCOUNT="$(setting spark_k8s.service_account)"
SPARK_IMAGE="$(setting spark_k8s.image)"
CATALOG_URI="$(setting catalog.uri)"
S3_ENDPOINT="$(setting s3.endpoint_url)"
S3_REGION="$(setting s3.region)"
S3_PATH_STYLE="$(setting s3.path_style)"
S3_SECRET="$(setting s3.existing_secret)"
echo "Spark in ${JOB_NAMESPACE} (image ${SPARK_IMAGE}), catalog ${CATALOG_URI}, S3 ${S3_ENDPOINT}"

work="$(mktemp -d)"
cleanup() {
  kubectl -n "${JOB_NAMESPACE}" delete sparkapplication "${APP}" --ignore-not-found --wait=false >/dev/null
  kubectl -n "${JOB_NAMESPACE}" delete secret "${APP}-catalog" --ignore-not-found >/dev/null
  kubectl -n "${JOB_NAMESPACE}" delete configmap "${APP}-program" --ignore-not-found >/dev/null
  rm -rf "${work}"
}
trap cleanup EXIT

# The catalog token as a JVM argument file (read by the driver through JDK_JAVA_OPTIONS).
(umask 077 && printf '"-Dspark.sql.catalog.iceberg.token=%s"\n' "${SADEEM_TOKEN}" >"${work}/jvm-options")
kubectl -n "${JOB_NAMESPACE}" create secret generic "${APP}-catalog" \
  --from-file=jvm-options="${work}/jvm-options" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

cat >"${work}/job.py" <<'PYTHON'
import sys

from pyspark.sql import SparkSession

workspace, table = sys.argv[1], sys.argv[2]
spark = SparkSession.builder.getOrCreate()
readings = spark.createDataFrame(
    [(1, "Riyadh", 41.5), (2, "Jeddah", 36.0), (3, "Dammam", 38.25)],
    "id INT, city STRING, reading DOUBLE",
)
readings.writeTo(f"iceberg.{workspace}.{table}").createOrReplace()
print(f"wrote {readings.count()} rows to iceberg.{workspace}.{table}")
PYTHON
kubectl -n "${JOB_NAMESPACE}" create configmap "${APP}-program" \
  --from-file=job.py="${work}/job.py" --dry-run=client -o yaml | kubectl apply -f - >/dev/null

s3_env() {
  cat <<YAML
    env:
      - name: AWS_REGION
        value: "${S3_REGION}"
      - name: AWS_ACCESS_KEY_ID
        valueFrom: {secretKeyRef: {name: "${S3_SECRET}", key: access-key-id}}
      - name: AWS_SECRET_ACCESS_KEY
        valueFrom: {secretKeyRef: {name: "${S3_SECRET}", key: secret-access-key}}
YAML
}

kubectl -n "${JOB_NAMESPACE}" delete sparkapplication "${APP}" --ignore-not-found >/dev/null
kubectl apply -f - <<YAML
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: ${APP}
  namespace: ${JOB_NAMESPACE}
spec:
  type: Python
  pythonVersion: "3"
  mode: cluster
  sparkVersion: 3.5.9
  image: ${SPARK_IMAGE}
  mainApplicationFile: local:///opt/sadeem/program/job.py
  arguments: ["${WORKSPACE}", "${TABLE}"]
  restartPolicy: {type: Never}
  timeToLiveSeconds: 3600
  sparkConf:
    spark.sql.extensions: org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions
    spark.sql.defaultCatalog: iceberg
    spark.sql.catalog.iceberg: org.apache.iceberg.spark.SparkCatalog
    spark.sql.catalog.iceberg.type: rest
    spark.sql.catalog.iceberg.uri: "${CATALOG_URI}"
    spark.sql.catalog.iceberg.warehouse: "${WORKSPACE}"
    spark.sql.catalog.iceberg.rest.auth.type: oauth2
    spark.sql.catalog.iceberg.token-refresh-enabled: "false"
    spark.sql.catalog.iceberg.io-impl: org.apache.iceberg.aws.s3.S3FileIO
    spark.sql.catalog.iceberg.s3.endpoint: "${S3_ENDPOINT}"
    spark.sql.catalog.iceberg.s3.path-style-access: "${S3_PATH_STYLE}"
    spark.sql.catalog.iceberg.client.region: "${S3_REGION}"
  driver:
    cores: 1
    memory: 1g
    serviceAccount: ${SERVICE_ACCOUNT}
    configMaps:
      - {name: ${APP}-program, path: /opt/sadeem/program}
    secrets:
      - {name: ${APP}-catalog, path: /opt/sadeem/catalog, secretType: Generic}
    envVars:
      JDK_JAVA_OPTIONS: "@/opt/sadeem/catalog/jvm-options"
$(s3_env)
  executor:
    cores: 1
    instances: 1
    memory: 1g
$(s3_env)
YAML

echo "Waiting for SparkApplication ${JOB_NAMESPACE}/${APP} ..."
state=""
deadline=$((SECONDS + TIMEOUT_SECONDS))
while ((SECONDS < deadline)); do
  state="$(kubectl -n "${JOB_NAMESPACE}" get sparkapplication "${APP}" \
    -o jsonpath='{.status.applicationState.state}' 2>/dev/null || true)"
  case "${state}" in
    COMPLETED) break ;;
    FAILED | SUBMISSION_FAILED)
      kubectl -n "${JOB_NAMESPACE}" get sparkapplication "${APP}" \
        -o jsonpath='{.status.applicationState.errorMessage}' >&2 || true
      kubectl -n "${JOB_NAMESPACE}" logs "${APP}-driver" --tail=50 >&2 || true
      echo "Spark ended in ${state}" >&2
      exit 1
      ;;
  esac
  sleep 5
done
if [[ "${state}" != COMPLETED ]]; then
  echo "Spark did not finish within ${TIMEOUT_SECONDS} s (state: ${state:-none})" >&2
  exit 1
fi
kubectl -n "${JOB_NAMESPACE}" logs "${APP}-driver" | grep "^wrote " || true

echo "Reading it with Trino:"
# The inner script is expanded by the pod's shell, not this one.
# shellcheck disable=SC2016
printf '%s\n' "${SADEEM_TOKEN}" |
  kubectl -n "${DATAPLANE_NAMESPACE}" exec -i "deploy/${RELEASE}-trino-coordinator" -c trino -- \
    sh -c 'IFS= read -r token && exec trino --user "$1" --extra-credential "token=${token}" \
      --output-format ALIGNED --execute "$2"' trino-cli "${SADEEM_USER}" \
    "SELECT id, city, reading FROM iceberg.${WORKSPACE}.${TABLE} ORDER BY id"
