// The history's selectors for the builder: from the service when it lists them, else this list
// (README: "The job history").
import type { Selector } from "../../api/extras";

const ALL = ["==", "!=", "=gt=", "=ge=", "=lt=", "=le=", "=in=", "=out="];
const EQUALITY = ["==", "!=", "=in=", "=out="];
const EXIT_STATUSES = ["UNKNOWN", "SUCCESS", "EXECUTION_ERROR", "JOB_IDENTIFIER_NOT_FOUND", "UNEXPECTED_MACHINE_ERROR", "PROJECT_NOT_FOUND", "FAILED_SETUP_EXECUTION_ENVIRONMENT", "NO_PERMISSION", "NO_MACHINE_AVAILABLE", "KILLED", "LOST", "UNDEFINED"];
const STATUSES = ["SCHEDULED", "INIT", "UPLOADING", "QUEUED", "EXECUTING", "DOWNLOADING", "FINISHED", "UNKNOWN"];

const text = (name: string): Selector => ({ name, type: "string", operators: ALL });
const number = (name: string): Selector => ({ name, type: "number", operators: ALL });
const time = (name: string): Selector => ({ name, type: "datetime", operators: ALL });
const bool = (name: string): Selector => ({ name, type: "boolean", operators: ["==", "!="], values: ["true", "false"] });

export const BUILT_IN_SELECTORS: Selector[] = [
  text("jobId"), text("groupId"), text("projectId"), text("jobOwner"), text("description"), text("jobType"),
  { name: "exitStatus", type: "string", operators: EQUALITY, values: EXIT_STATUSES },
  { name: "status", type: "list", operators: EQUALITY, values: STATUSES },
  time("submissionTime"), time("endTime"), time("lastModifiedTime"),
  number("exitCode"), number("priority"), number("wallclockTime"), number("cpuTime"), number("ramMemory"), number("numberOfAttempts"),
  number("numberOfProcesses"), number("numberOfProcessesByMachine"),
  text("executionMachine"), { name: "submissionMachines", type: "list", operators: EQUALITY }, text("guiltyNodeId"),
  bool("isDeleted"), bool("automaticallyMachineSelection"), bool("multipleExecution"),
  text("flowId"), text("flowName"), text("flowVersion"),
  text("algorithmId"), text("algorithmName"), text("algorithmVersion"),
  text("paramId"), text("paramLabel"), text("paramType"), text("paramValue"),
];
