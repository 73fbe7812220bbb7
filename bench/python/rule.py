"""The comparison baseline: an AWS Config custom rule for Defender for Servers' EC2 prerequisites,
built the way such rules are built today (rdklib on boto3).

Run as Lambda runs a Python function: `python -m awslambdaric rule.lambda_handler` with
AWS_LAMBDA_RUNTIME_API set (bench/README.md). Reads the instance's related items from the AWS
Config API (SelectResourceConfig + BatchGetResourceConfig, the same queries the Rust rule sends)
and reports one evaluation per instance with PutEvaluations (rdklib). Unlike the Rust rule, it
keeps no state: no DynamoDB table, no transition history, no EventBridge events.

Rule parameters: {"AssumeRoleMode": "False"} (use the function's own credentials).
"""

import json

import boto3
from rdklib import ConfigRule, Evaluator, Evaluation

import servers_checks as checks

SELECT = "SELECT resourceType, resourceId WHERE"


def _quoted(values):
    if any("'" in v or "\\" in v for v in values):
        raise ValueError("value cannot be quoted safely")
    return ", ".join(f"'{v}'" for v in values)


def _select(config, expression):
    keys, token = [], None
    while True:
        args = {"Expression": expression}
        if token:
            args["NextToken"] = token
        page = config.select_resource_config(**args)
        for r in page.get("Results", []):
            v = json.loads(r)
            keys.append({"resourceType": v["resourceType"], "resourceId": v["resourceId"]})
        token = page.get("NextToken")
        if not token:
            return keys


def _batch_get(config, keys):
    items = []
    for i in range(0, len(keys), 100):
        chunk = keys[i : i + 100]
        while chunk:
            page = config.batch_get_resource_config(resourceKeys=chunk)
            items.extend(page.get("baseConfigurationItems", []))
            chunk = page.get("unprocessedResourceKeys", [])
    return items


def related(config, item):
    cfg = checks.configuration(item)
    keys = [{"resourceType": "AWS::SSM::ManagedInstanceInventory", "resourceId": cfg.get("instanceId") or item["resourceId"]}]
    profile = (cfg.get("iamInstanceProfile") or {}).get("arn")
    if profile:
        keys += _select(
            config,
            f"{SELECT} resourceType = 'AWS::IAM::Role' AND configuration.instanceProfileList.arn IN ({_quoted([profile])})",
        )
    if cfg.get("vpcId"):
        keys += _select(
            config,
            f"{SELECT} resourceType IN ('AWS::EC2::RouteTable', 'AWS::EC2::VPCEndpoint') "
            f"AND relationships.resourceId IN ({_quoted([cfg['vpcId']])})",
        )
    by_type = {}
    for i in _batch_get(config, keys):
        by_type.setdefault(i["resourceType"], []).append(i)
    return checks.Related(
        role=next(iter(by_type.get("AWS::IAM::Role", [])), None),
        inventory=next(iter(by_type.get("AWS::SSM::ManagedInstanceInventory", [])), None),
        route_tables=by_type.get("AWS::EC2::RouteTable", []),
        endpoints=by_type.get("AWS::EC2::VPCEndpoint", []),
        roles_recorded=bool(profile),
    )


class DefenderServersRule(ConfigRule):
    def evaluate_change(self, event, client_factory, configuration_item, valid_rule_parameters):
        config = client_factory.build_client("config")
        results = checks.evaluate(configuration_item, related(config, configuration_item))
        compliance, annotation = checks.aggregate(results)
        return [Evaluation(compliance, annotation=annotation)]

    def evaluate_periodic(self, event, client_factory, valid_rule_parameters):
        return []


def lambda_handler(event, context):
    rule = DefenderServersRule()
    return Evaluator(rule, ["AWS::EC2::Instance"]).handle(event, context)
