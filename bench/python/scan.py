"""The comparison baseline's scan: the Python servers checks (servers_checks.py) over every EC2
instance of an AWS Config snapshot, joined in memory like the Rust scan. Prints one JSON line:
items, instances, evaluations, seconds, items_per_s; with --results, every result instead, one
JSON array [resourceId, checkId, compliance] per line (tests/tests/python_baseline.rs compares
them with the Rust engine's).

    python bench/python/scan.py SNAPSHOT.json [--results]
"""

import json
import sys
import time

import servers_checks as checks


def main(path, results=False):
    start = time.perf_counter()
    with open(path) as f:
        items = json.load(f)["configurationItems"]
    roles_by_profile, inventory, tables_by_vpc, endpoints_by_vpc, instances = {}, {}, {}, {}, []
    roles_recorded = set()
    for i in items:
        t = i.get("resourceType")
        cfg = checks.configuration(i)
        if t == "AWS::EC2::Instance":
            instances.append(i)
        elif t == "AWS::IAM::Role":
            roles_recorded.add(i.get("awsAccountId"))
            for p in cfg.get("instanceProfileList") or []:
                roles_by_profile[p.get("arn")] = i
        elif t == "AWS::SSM::ManagedInstanceInventory":
            inventory[i.get("resourceId")] = i
        elif t == "AWS::EC2::RouteTable":
            tables_by_vpc.setdefault(cfg.get("vpcId"), []).append(i)
        elif t == "AWS::EC2::VPCEndpoint":
            endpoints_by_vpc.setdefault(cfg.get("vpcId"), []).append(i)
    evaluations = 0
    for i in instances:
        cfg = checks.configuration(i)
        rel = checks.Related(
            role=roles_by_profile.get((cfg.get("iamInstanceProfile") or {}).get("arn")),
            inventory=inventory.get(cfg.get("instanceId") or i.get("resourceId")),
            route_tables=tables_by_vpc.get(cfg.get("vpcId"), []),
            endpoints=endpoints_by_vpc.get(cfg.get("vpcId"), []),
            roles_recorded=i.get("awsAccountId") in roles_recorded,
        )
        out = checks.evaluate(i, rel)
        evaluations += len(out)
        if results:
            for check_id, compliance, _ in out:
                print(json.dumps([i.get("resourceId"), check_id, compliance]))
    if results:
        return
    secs = time.perf_counter() - start
    print(json.dumps({"items": len(items), "instances": len(instances), "evaluations": evaluations,
                      "seconds": round(secs, 3), "items_per_s": round(len(items) / secs)}))


if __name__ == "__main__":
    main(sys.argv[1], "--results" in sys.argv[2:])
