"""An ALB Ingress asking for the internet."""

import pulumi_kubernetes as k8s

k8s.networking.v1.Ingress(
    "grafana",
    metadata={
        "name": "grafana",
        "namespace": "monitoring",
        "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
    },
    spec={"ingressClassName": "alb", "rules": [{"host": "grafana.example.com"}]},
)
