"""Translates a SAM template to CloudFormation with SAM's own translator (samtranslator, what
`sam deploy` and CloudFormation's AWS::Serverless transform run) and prints the JSON. Offline:
managed policy names resolve from the map bundled with samtranslator, never from IAM.

    python tests/sam_translate.py template.yaml
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class BundledPoliciesOnly:
    """The ManagedPolicyLoader interface, without calling IAM."""

    def load(self):
        return {}


def translate(path):
    """The template at `path` as CloudFormation JSON (a template without SAM's transform as it is)."""
    # The translator names the region in ARNs it builds; any region will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path) as f:
        template = yaml_parse(f.read())
    if "Transform" not in template:
        return template
    # What `sam package` does first: local code paths become S3 locations.
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(props.get("CodeUri", "s3://")).startswith("s3://"):
            props["CodeUri"] = f"s3://packaged/{name}.zip"
    return transform(template, {}, BundledPoliciesOnly())


if __name__ == "__main__":
    print(json.dumps(translate(sys.argv[1])))
