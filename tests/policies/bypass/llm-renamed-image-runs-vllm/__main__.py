"""vLLM behind a name that says nothing (a team's own image), started by its command; and one whose
digest is cut short."""

import pulumi_kubernetes as k8s

for name, image in (
    ("chat", "registry.example.com/acme/chat-server:1.4.0"),
    ("short-digest", "registry.example.com/acme/chat-server@sha256:0123abcd"),
):
    k8s.apps.v1.Deployment(
        name,
        metadata={"name": name, "namespace": "models"},
        spec={
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "server",
                            "image": image,
                            "command": ["python3", "-m", "vllm.entrypoints.openai.api_server"],
                            "resources": {
                                "requests": {"cpu": "4", "memory": "32Gi"},
                                "limits": {"cpu": "8", "memory": "32Gi"},
                            },
                            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                        }
                    ]
                },
            },
        },
    )
