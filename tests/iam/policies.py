"""The IAM policies of a template as CloudFormation would create them, for the IAM tests.

Translates the template with SAM's own translator (tests/sam_translate.py), evaluates its
Conditions for the given parameters, drops the resources whose condition is false and resolves
every intrinsic function (Ref, Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join, Fn::Split, Fn::Select,
conditions) in the roles, managed policies and resource policies, the way CloudFormation names
physical resources: a role without RoleName is `<stack>-<LogicalId>-<suffix>`, a table without
TableName `<stack>-<LogicalId>-<suffix>`, and so on. Physical names can be given (`--names`,
e.g. a test's real table name, or a placeholder the caller substitutes later).

    python tests/iam/policies.py TEMPLATE --params '{"Deployment": "central"}' \
        --names '{"StateTable": "@@StateTable@@"}' --account 123456789012 --region us-east-1

prints {"roles": {LogicalId: {"name", "arn", "trust", "policies": [{"name", "policy"}]}},
        "resourcePolicies": {LogicalId: {"type", "target", "policy"}},
        "actions": [every action any policy names]}.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sam_translate import translate  # noqa: E402

NO_VALUE = object()
SUFFIX = "ABCDEFGHIJKL"


class Unresolvable(Exception):
    pass


class Stack:
    def __init__(self, cfn, params, names, account, region, stack_name):
        self.cfn = cfn
        self.account, self.region, self.stack_name = account, region, stack_name
        self.partition = "aws"
        self.params = {}
        for k, p in cfn.get("Parameters", {}).items():
            if k in params:
                self.params[k] = params[k]
            elif "Default" in p:
                self.params[k] = p["Default"]
            else:
                raise Unresolvable(f"parameter {k} has no default and no value")
            if p.get("Type") in ("CommaDelimitedList",) and isinstance(self.params[k], str):
                self.params[k] = self.params[k].split(",")
        unknown = set(params) - set(cfn.get("Parameters", {}))
        if unknown:
            raise Unresolvable(f"not parameters of the template: {sorted(unknown)}")
        self.names = names
        self.conditions = {}
        self.resources = {
            k: r for k, r in cfn.get("Resources", {}).items() if "Condition" not in r or self.condition(r["Condition"])
        }

    # ---------------------------------------------------------------- conditions
    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = self.truth(self.cfn["Conditions"][name])
        return self.conditions[name]

    def truth(self, c):
        (fn, args), = c.items()
        if fn == "Fn::Equals":
            return self.value(args[0]) == self.value(args[1])
        if fn == "Fn::Not":
            return not self.truth(args[0])
        if fn == "Fn::And":
            return all(self.truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self.truth(a) for a in args)
        if fn == "Condition":
            return self.condition(args)
        raise Unresolvable(f"condition function {fn}")

    # ---------------------------------------------------------------- physical names
    def physical(self, logical):
        if logical in self.names:
            return self.names[logical]
        r = self.resources[logical]
        props = r.get("Properties", {})
        explicit = {
            "AWS::IAM::Role": "RoleName",
            "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::Events::Rule": "Name",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::SNS::Topic": "TopicName",
        }.get(r["Type"])
        if explicit and explicit in props:
            name = self.value(props[explicit])
            # `!If [cond, name, !Ref AWS::NoValue]`: unnamed where the condition is false.
            if name is not NO_VALUE:
                return name
        # CloudFormation's generated name: stack name, logical id, random suffix.
        return f"{self.stack_name}-{logical}-{SUFFIX}"

    def ref(self, name):
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        if name not in self.resources:
            raise Unresolvable(f"Ref to {name}, which does not exist with these parameters")
        t = self.resources[name]["Type"]
        if t in ("AWS::SQS::Queue",):
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self.physical(name)}"
        if t in ("AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"):
            return self.arn(name)
        return self.physical(name)

    def arn(self, logical):
        t = self.resources[logical]["Type"]
        n = self.physical(logical)
        a, r, p = self.account, self.region, self.partition
        return {
            "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{n}",
            "AWS::IAM::ManagedPolicy": f"arn:{p}:iam::{a}:policy/{n}",
            "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{r}:{a}:table/{n}",
            "AWS::Events::EventBus": f"arn:{p}:events:{r}:{a}:event-bus/{n}",
            "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{n}",
            "AWS::SQS::Queue": f"arn:{p}:sqs:{r}:{a}:{n}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{n}:*",
            "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{n}",
            "AWS::SNS::Topic": f"arn:{p}:sns:{r}:{a}:{n}",
            "AWS::Config::ConfigurationAggregator": f"arn:{p}:config:{r}:{a}:config-aggregator/{n}",
        }.get(t) or self.unsupported(f"the ARN of a {t}")

    def getatt(self, logical, attr):
        if logical not in self.resources:
            raise Unresolvable(f"GetAtt of {logical}, which does not exist with these parameters")
        t = self.resources[logical]["Type"]
        if attr == "Arn":
            return self.arn(logical)
        if t == "AWS::DynamoDB::Table" and attr == "StreamArn":
            return f"{self.arn(logical)}/stream/2026-01-01T00:00:00.000"
        if t == "AWS::SQS::Queue" and attr == "QueueName":
            return self.physical(logical)
        return self.unsupported(f"GetAtt {t}.{attr}")

    def unsupported(self, what):
        raise Unresolvable(what)

    # ---------------------------------------------------------------- values
    def value(self, v):
        if isinstance(v, list):
            out = [self.value(x) for x in v]
            return [x for x in out if x is not NO_VALUE]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            (k, args), = v.items()
            if k == "Ref":
                return self.ref(args)
            if k == "Fn::GetAtt":
                logical, attr = args if isinstance(args, list) else args.split(".", 1)
                return self.getatt(logical, attr)
            if k == "Fn::If":
                return self.value(args[1] if self.condition(args[0]) else args[2])
            if k == "Fn::Join":
                return self.value(args[0]).join(str(x) for x in self.value(args[1]))
            if k == "Fn::Split":
                return self.value(args[1]).split(self.value(args[0]))
            if k == "Fn::Select":
                return self.value(args[1])[int(self.value(args[0]))]
            if k == "Fn::Sub":
                return self.sub(args)
            if k.startswith("Fn::") or k == "Condition":
                raise Unresolvable(f"intrinsic {k}")
        out = {}
        for k, x in v.items():
            y = self.value(x)
            if y is not NO_VALUE:
                out[k] = y
        return out

    def sub(self, args):
        text, local = (args, {}) if isinstance(args, str) else (args[0], {k: self.value(x) for k, x in args[1].items()})
        out, i = [], 0
        while i < len(text):
            j = text.find("${", i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            k = text.index("}", j)
            name = text[j + 2:k]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in local:
                out.append(str(local[name]))
            elif "." in name and not name.startswith("AWS::"):
                out.append(str(self.getatt(*name.split(".", 1))))
            else:
                out.append(str(self.ref(name)))
            i = k + 1
        return "".join(out)


def actions_of(doc):
    out = set()
    for s in doc.get("Statement", []):
        a = s.get("Action", [])
        out.update([a] if isinstance(a, str) else a)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--names", default="{}")
    ap.add_argument("--account", default="123456789012")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--stack", default="defender-prereqs")
    a = ap.parse_args()
    cfn = translate(a.template)
    s = Stack(cfn, json.loads(a.params), json.loads(a.names), a.account, a.region, a.stack)
    roles, resource_policies, actions = {}, {}, set()
    for logical, r in s.resources.items():
        t, props = r["Type"], r.get("Properties", {})
        if t == "AWS::IAM::Role":
            props = s.value(props)
            policies = [{"name": p["PolicyName"], "policy": p["PolicyDocument"]} for p in props.get("Policies", [])]
            roles[logical] = {
                "name": s.physical(logical),
                "arn": s.arn(logical),
                "trust": props["AssumeRolePolicyDocument"],
                "policies": policies,
                "managed": props.get("ManagedPolicyArns", []),
            }
    for logical, r in s.resources.items():
        t = r["Type"]
        if t == "AWS::IAM::ManagedPolicy":
            props = s.value(r["Properties"])
            arn = s.arn(logical)
            doc = {"name": logical, "policy": props["PolicyDocument"]}
            for role in roles.values():
                if arn in role["managed"]:
                    role["policies"].append(doc)
            for name in props.get("Roles", []):
                for role in roles.values():
                    if role["name"] == name:
                        role["policies"].append(doc)
        elif t == "AWS::Events::EventBusPolicy":
            props = s.value(r["Properties"])
            statement = props["Statement"]
            resource_policies[logical] = {
                "type": t,
                "target": props["EventBusName"],
                "policy": {"Version": "2012-10-17", "Statement": [statement]},
            }
        elif t in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            props = s.value(r["Properties"])
            resource_policies[logical] = {
                "type": t,
                "target": props.get("Queues", props.get("Topics")),
                "policy": props["PolicyDocument"],
            }
    for role in roles.values():
        role["managed"] = [m for m in role["managed"] if ":aws:policy/" in m]
        for p in role["policies"]:
            actions |= actions_of(p["policy"])
        actions |= actions_of(role["trust"])
    for p in resource_policies.values():
        actions |= actions_of(p["policy"])
    json.dump({"roles": roles, "resourcePolicies": resource_policies, "actions": sorted(actions)}, sys.stdout, indent=1)


if __name__ == "__main__":
    try:
        main()
    except Unresolvable as e:
        sys.exit(f"policies.py: cannot resolve {e}")
