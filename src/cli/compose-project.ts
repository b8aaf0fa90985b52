// The compose project a command acts on at the engine (enforce, verify --live): its deployment as
// Corral reads it and the project name Compose labels its containers with.

import { readDeployment } from "../model/load.ts";
import type { Deployment } from "../model/types.ts";
import type { CommandContext } from "./command.ts";
import { UsageError } from "./command.ts";
import { printDiagnostics } from "./diagnostics.ts";

export function composeProject(
  files: string[],
  values: { profile?: string[]; project?: string },
  ctx: CommandContext,
  notCompose: { message: string; hint: string },
): { deployment: Deployment; project: string } {
  const deployment = readDeployment(files, {
    env: ctx.env,
    ...(values.profile ? { profiles: values.profile } : {}),
    ...(values.project ? { projectName: values.project } : {}),
  });
  printDiagnostics(deployment.diagnostics, ctx);
  if (deployment.platform !== "compose") throw new UsageError(notCompose.message, notCompose.hint);
  // --project wins: `docker compose -p NAME` labels the containers with it, whatever the files say.
  const project = values.project ?? deployment.project;
  if (!project) throw new UsageError("no compose project name", "pass --project NAME");
  return { deployment, project };
}
