"""The shared kit every component builds with: settings (`spec`), Kubernetes building blocks (`k8s`),
the workload skeleton (`workload`), workload identity (`identity`), the monitoring hooks
(`observability`), quantities, cron schedules, AWS and GPU facts, pinned versions, and the guardrails
the stack config and the policy pack share. It imports nothing else from `components/`."""
