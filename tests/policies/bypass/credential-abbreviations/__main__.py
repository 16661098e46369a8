"""Credentials under the abbreviations people use (DB_PASS, MYSQL_PWD, ADMIN_PW, redisPass, GH_PAT,
API_KEY) with short literal values, and in a ConfigMap - beside names that are not credentials (the
Secret a controller reads, the shell's working directory, a tokenizer setting), which must pass."""

import pulumi_kubernetes as k8s

container = {
    "name": "app",
    "image": "registry.example.com/app:1.0.0",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}},
    "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
    "readinessProbe": {"tcpSocket": {"port": 8080}},
    "livenessProbe": {"tcpSocket": {"port": 8080}},
    "env": [
        {"name": "DB_PASS", "value": "x9"},
        {"name": "MYSQL_PWD", "value": "abc1"},
        {"name": "ADMIN_PW", "value": "pw"},
        {"name": "redisPass", "value": "r3d1s"},
        {"name": "GH_PAT", "value": "ghp_x"},
        {"name": "SECRET_NAME", "value": "app-webhook-cert"},
        {"name": "PWD", "value": "/app"},
        {"name": "TOKENIZERS_PARALLELISM", "value": "false"},
        {"name": "MAX_TOKENS", "value": "4096"},
    ],
}
k8s.apps.v1.Deployment(
    "abbreviated",
    metadata={"name": "abbreviated", "namespace": "team"},
    spec={
        "selector": {"matchLabels": {"app": "a"}},
        "template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [container]}},
    },
)
k8s.core.v1.ConfigMap(
    "settings",
    metadata={"name": "settings", "namespace": "team"},
    data={"DB_PASSWD": "hunter2", "LOG_LEVEL": "info", "app.ini": "[db]\nurl = postgresql://app:s3cr3t@db:5432/app\n"},
)
