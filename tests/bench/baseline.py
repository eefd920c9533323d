"""The baseline of `cargo xtask bench`: Bedrock Chat's migration-guide procedure, written as our own
boto3 script so that it runs against the same emulator and data as `cargo xtask migrate`.

As the guide does it: the five values copied from the stack outputs (here: arguments), a sequential
Scan of the conversation table with the same filter (`contains(SK, "#BOT#")`), "yes" to the
guide's per-page question, then one RunTask per bot item in scan order, with no retry of its own
(boto3's defaults apply, as in the guide), never reading RunTask's `failures`, never looking at
the outcome. Bots with nothing to embed get a task too: the guide does not look at `Knowledge`.

Prints one JSON line: what it scanned and launched, the failures it ignored, the errors it met.
"""

import argparse
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("table", "cluster", "task-definition", "container", "subnets", "security-groups"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    dynamodb = boto3.client("dynamodb")
    ecs = boto3.client("ecs")

    started = time.time()
    bots = []
    request = {
        "TableName": args.table,
        "FilterExpression": "contains(SK, :bot)",
        "ExpressionAttributeValues": {":bot": {"S": "#BOT#"}},
    }
    while True:
        page = dynamodb.scan(**request)
        bots.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        # The guide asks "continue? (y/N)" here; the bench answers yes to every page.
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    scanned = time.time()

    launched = failures = errors = 0
    for bot in bots:
        keys = json.dumps({"PK": bot["PK"], "SK": bot["SK"]})
        try:
            answer = ecs.run_task(
                cluster=args.cluster,
                launchType="FARGATE",
                taskDefinition=args.task_definition,
                networkConfiguration={
                    "awsvpcConfiguration": {
                        "subnets": args.subnets.split(","),
                        "securityGroups": args.security_groups.split(","),
                        "assignPublicIp": "DISABLED",
                    }
                },
                overrides={
                    "containerOverrides": [
                        {"name": args.container, "command": ["-u", "embedding/main.py", keys]}
                    ]
                },
            )
        except ClientError as error:
            # The guide's script would stop here with a traceback; the bench counts and goes on,
            # which only flatters the baseline.
            errors += 1
            print(f"RunTask error: {error}", file=sys.stderr)
            continue
        launched += len(answer.get("tasks", []))
        failures += len(answer.get("failures", []))

    print(json.dumps({
        "bots_scanned": len(bots),
        "launched": launched,
        "failures_ignored": failures,
        "errors": errors,
        "scan_secs": scanned - started,
        "wall_secs": time.time() - started,
    }))


if __name__ == "__main__":
    main()
