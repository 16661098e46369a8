"""The same risk in every other service whose policy can name the world: a queue policy, a topic's
inline policy (its aws:SourceArn condition a wildcard), a key's policy, a repository, a secret, a
Lambda permission for every account - and a NotPrincipal Allow, which is everyone but a few."""

import json

import pulumi_aws as aws

TAGS = {"owner": "team", "environment": "prod", "cost-center": "cc-1"}


def world(action: str, condition: dict | None = None, principal: object = "*") -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


aws.sqs.QueuePolicy(
    "inbox",
    queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/inbox",
    policy=world("sqs:SendMessage", principal={"AWS": "*"}),
)
aws.sns.Topic("alerts", policy=world("sns:Publish", {"ArnLike": {"aws:SourceArn": "*"}}), tags=TAGS)
aws.kms.Key(
    "shared",
    enable_key_rotation=True,
    policy=world("kms:Decrypt", principal={"AWS": "*"}),
    tags=TAGS,
)
aws.ecr.RepositoryPolicy("images", repository="team/app", policy=world("ecr:*"))
aws.secretsmanager.SecretPolicy(
    "db",
    secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
    policy=world("secretsmanager:GetSecretValue"),
)
aws.lambda_.Permission("invoke", action="lambda:InvokeFunction", function="resize", principal="*")
aws.sqs.Queue(
    "jobs",
    sqs_managed_sse_enabled=True,
    policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sqs:ReceiveMessage",
                    "Resource": "*",
                }
            ],
        }
    ),
    tags=TAGS,
)
aws.sqs.QueuePolicy(
    "scoped",
    queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/scoped",
    policy=world("sqs:SendMessage", {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:alerts"}}),
)
