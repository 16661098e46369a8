"""PromQL the platform hands others - KEDA's triggers - written once; plain functions, no Pulumi (the LLM
suite, in an environment without it, runs them against a real vLLM and Prometheus)."""

from __future__ import annotations


def predictor_pods(namespace: str, predictor: str) -> str:
    """A label matcher for a Standard-mode predictor's pods: a Deployment's pods are
    <name>-<template hash>-<5 chars>, so another endpoint's never match."""
    return f'namespace="{namespace}",pod=~"{predictor}-[a-z0-9]{{1,10}}-[a-z0-9]{{5}}"'


def waiting_requests_query(namespace: str, predictor: str) -> str:
    """Requests waiting in an LLM endpoint's replicas' queues (vLLM's own gauge), summed over its pods;
    0 when none reports."""
    return f"sum(vllm:num_requests_waiting{{{predictor_pods(namespace, predictor)}}}) or vector(0)"
