"""Network exposure, in every form it can be written: security-group ingress from the internet (the
group's inline rules, SecurityGroupRule, SecurityGroupIngressRule, the default group), Kubernetes
Services and Ingresses that ask AWS for an internet-facing load balancer. The EKS public endpoint
is judged in eks.py by the same address-space measure."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from components.kit.guardrails import PUBLIC_ENDPOINT_MAX_PREFIX, public_addresses
from policies.rules.common import EXCEPTIONS_CONFIG, as_list, dig, excepted, resource_rule

SECURITY_GROUP = {"aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"}
SECURITY_GROUP_RULE = {"aws:ec2/securityGroupRule:SecurityGroupRule"}
INGRESS_RULE = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"}
SERVICE = {"kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch"}
INGRESS = {"kubernetes:networking.k8s.io/v1:Ingress", "kubernetes:networking.k8s.io/v1:IngressPatch"}

WEB_PORTS = frozenset({80, 443})
GLOBAL_IPV6 = ipaddress.IPv6Network("2000::/3")
IPV6_MAX_PREFIX = 32
"""An IPv6 range wider than a /32 (an ISP's whole allocation) that reaches global unicast space is the internet."""

PUBLIC_INGRESS_CONFIG = {
    **EXCEPTIONS_CONFIG,
    "exceptions": {
        **EXCEPTIONS_CONFIG["exceptions"],
        "description": "Internet-facing load balancers' security groups (or their rules), by resource name and "
        "why: they may admit the internet on ports 80 and 443, nothing else.",
    },
}


def _open_ipv6(cidrs: Iterable[str]) -> list[str]:
    found = []
    for cidr in cidrs:
        try:
            network = ipaddress.IPv6Network(cidr, strict=False)
        except ValueError:
            continue
        if network.prefixlen < IPV6_MAX_PREFIX and network.overlaps(GLOBAL_IPV6):
            found.append(cidr)
    return found


def open_to_internet(ipv4: Iterable[str], ipv6: Iterable[str]) -> str | None:
    """What of the internet these CIDRs admit, if more than a /8 of IPv4 or a /32 of global IPv6."""
    ipv4, ipv6 = [str(c) for c in ipv4], [str(c) for c in ipv6]
    parts = []
    covered = public_addresses(ipv4)
    if covered > 1 << (32 - PUBLIC_ENDPOINT_MAX_PREFIX):
        parts.append(f"{covered:,} public IPv4 addresses ({', '.join(ipv4)})")
    if wide := _open_ipv6(ipv6):
        parts.append(f"the IPv6 internet ({', '.join(wide)})")
    return " and ".join(parts) or None


def _ports(rule: Any, protocol_key: str) -> str:
    protocol = str(rule.get(protocol_key) if rule.get(protocol_key) is not None else "all")
    low, high = rule.get("fromPort"), rule.get("toPort")
    if protocol in ("-1", "all") or low is None:
        return "all ports"
    return f"port {low:g}" if low == high else f"ports {low:g}-{high:g}"


def _web_only(rule: Any, protocol_key: str) -> bool:
    low, high = rule.get("fromPort"), rule.get("toPort")
    return (
        str(rule.get(protocol_key)) in ("tcp", "6")
        and low is not None
        and high is not None
        and low == high
        and int(low) in WEB_PORTS
    )


def _report_open(
    args: ResourceValidationArgs, report: ReportViolation, rule: Any, ipv4: Any, ipv6: Any, protocol_key: str
) -> None:
    reach = open_to_internet(as_list(ipv4), as_list(ipv6))
    if reach is None:
        return
    if excepted(args, args.name) and _web_only(rule, protocol_key):
        return  # an internet-facing load balancer the config asked for, on 80/443
    report(
        f"Security group ingress '{args.name}' admits {reach} on {_ports(rule, protocol_key)}; admit the clients' "
        "security group or their CIDRs instead (an internet-facing load balancer is listed in the pack config "
        "and opens 80/443 only)"
    )


def no_open_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in SECURITY_GROUP:
        for rule in as_list(args.props.get("ingress")):
            _report_open(args, report, rule, rule.get("cidrBlocks"), rule.get("ipv6CidrBlocks"), "protocol")
    elif args.resource_type in SECURITY_GROUP_RULE:
        if args.props.get("type") == "ingress":
            props = args.props
            _report_open(args, report, props, props.get("cidrBlocks"), props.get("ipv6CidrBlocks"), "protocol")
    else:
        props = args.props
        _report_open(args, report, props, props.get("cidrIpv4"), props.get("cidrIpv6"), "ipProtocol")


EXPOSURE_CONFIG = {
    **EXCEPTIONS_CONFIG,
    "exceptions": {
        **EXCEPTIONS_CONFIG["exceptions"],
        "description": "Services and Ingresses (namespace/name) the stack's config publishes to the internet, and why "
        "(offline/pack_config.py lists the ones the platform's config asks for).",
    },
}
INFERENCE_SERVICE = {"kubernetes:serving.kserve.io/v1beta1:InferenceService"}
INTERNAL_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
}


def object_name(props: Any, fallback: str) -> str:
    return f"{dig(props, 'metadata', 'namespace') or 'default'}/{dig(props, 'metadata', 'name') or fallback}"


VISIBILITY = "networking.kserve.io/visibility"
"""KServe's label keeping an InferenceService cluster-local (without it, a KServe that creates ingresses
publishes it through its gateway)."""


def no_unrequested_exposure(args: ResourceValidationArgs, report: ReportViolation) -> None:
    name = object_name(args.props, args.name)
    annotations = dig(args.props, "metadata", "annotations") or {}
    if args.resource_type in INFERENCE_SERVICE:
        visibility = (dig(args.props, "metadata", "labels") or {}).get(VISIBILITY)
        if visibility != "cluster-local" and not excepted(args, name):
            report(
                f"InferenceService {name} is {'labelled ' + VISIBILITY + ': ' + str(visibility) if visibility else 'not labelled cluster-local'}: "
                f"a KServe that creates ingresses publishes it; label it {VISIBILITY}: cluster-local, or publish it "
                "through the config"
            )
        return
    if args.resource_type in SERVICE:
        if dig(args.props, "spec", "type") != "LoadBalancer":
            return
        internal = any(str(annotations.get(key, "")).lower() == value for key, value in INTERNAL_ANNOTATIONS.items())
        if internal or excepted(args, name):
            return
        report(
            f"Service {name} is a LoadBalancer with no internal scheme: AWS gives it an internet-facing load "
            "balancer; annotate it service.beta.kubernetes.io/aws-load-balancer-scheme: internal, or publish it "
            "through the config (an ingress with internal: false)"
        )
    elif annotations.get("alb.ingress.kubernetes.io/scheme") == "internet-facing" and not excepted(args, name):
        report(
            f"Ingress {name} asks for an internet-facing load balancer the stack's config does not publish; set "
            "alb.ingress.kubernetes.io/scheme: internal, or publish it through the config (internal: false)"
        )


POLICIES = [
    resource_rule(
        "network-no-open-ingress",
        "No security group admits the internet (IPv4 beyond a /8, or the IPv6 internet), in any form.",
        SECURITY_GROUP | SECURITY_GROUP_RULE | INGRESS_RULE,
        no_open_ingress,
        config=PUBLIC_INGRESS_CONFIG,
    ),
    resource_rule(
        "k8s-no-unrequested-exposure",
        "Internet-facing load balancers, and InferenceServices not kept cluster-local, only where the stack's config "
        "publishes a service.",
        SERVICE | INGRESS | INFERENCE_SERVICE,
        no_unrequested_exposure,
        config=EXPOSURE_CONFIG,
    ),
]
