import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { CallerProvider } from "../auth";
import { renderPage } from "../test/render";
import { server } from "../test/server";
import DeployPage from "./DeployPage";

const toRun = {
  repository: "samples", group: "org.example", name: "hello", version: "1.1", path: "org/example/hello/1.1/hello-1.1.zip",
  downloadUrl: "file:///tmp/hello-1.1.zip", checksum: { algorithm: "sha256", value: "ab".repeat(32) },
};
const operator = { user: "olga", name: "Olga", roles: ["operator" as const], expires: 0 };

function catalogAndDeployer(onCreate: (body: unknown) => HttpResponse<string | object>) {
  server.use(
    http.get("*/api/catalog/repositories/samples/artifacts/org.example/hello/versions", () =>
      HttpResponse.json({ group: "org.example", name: "hello", versions: [{ version: "1.1", snapshot: false }, { version: "1.0", snapshot: false }] })),
    http.get("*/api/catalog/repositories/samples/artifacts/org.example/hello/versions/1.1", () =>
      HttpResponse.json({ group: "org.example", name: "hello", version: "1.1", assets: [], toRun })),
    http.get("*/api/runners", () => HttpResponse.json([{ image: "eclipse-temurin:21-jre", description: "Java 21: runs a jar", command: ["java", "-jar", "$(JOB_RESOURCE)"] }])),
    http.get("*/api/schedules/preview", () => HttpResponse.json({ cron: "0 2 * * *", timeZone: "Europe/Paris", times: [] })),
    http.get("*/api/deployments/:name", () => HttpResponse.json({ code: "not_found", message: "no such deployment" }, { status: 404 })),
    http.post("*/api/deployments", async ({ request }) => onCreate(await request.json())),
  );
}

/** The input (not the list of options) that a label names. */
const input = (label: RegExp | string) => screen.getAllByLabelText(label).find((el) => el.tagName === "INPUT" || el.tagName === "TEXTAREA")!;

const page = () =>
  renderPage(
    <CallerProvider caller={operator}>
      <DeployPage />
    </CallerProvider>,
    { path: "/deploy?repository=samples&group=org.example&name=hello&version=1.1", route: "/deploy" },
  );

describe("the deploy form", () => {
  it("puts each of the deployer's problems at its field, and the others above the form", async () => {
    const problems = [
      { field: "name", message: "sales_etl is not an RFC 1123 label" },
      { field: "runner.image", message: "an image is needed" },
      { field: "runner.command", message: "the local runtime needs a command" },
      { field: "runner.env[0].name", message: "'1X' is not a variable name" },
      { field: "runner.resources.limits.memory", message: "'lots' is not a quantity" },
      { field: "schedule.cron", message: "'61 * * * *': minute 61 is out of range" },
      { field: "schedule.timeZone", message: "'Mars/Olympus' is not an IANA time zone" },
      { field: "mounts[0].mountPath", message: "must be absolute" },
      { field: "mounts[0].credentials.password", message: "a password is needed" },
      { field: "backoffLimit", message: "at most 100" },
      { field: "ttlSecondsAfterFinished", message: "must not be negative" },
      { field: "resource.checksum.value", message: "not hexadecimal" },
      { field: "spec.unknownThing", message: "something the form does not show" },
    ];
    let sent: Record<string, unknown> | null = null;
    catalogAndDeployer((body) => {
      sent = body as Record<string, unknown>;
      return HttpResponse.json({ code: "invalid_deployment", message: "the deployment has problems", problems }, { status: 400 });
    });
    page();
    await waitFor(() => expect(input(/Deployment name/)).toHaveValue("hello"));
    await userEvent.type(input(/Runner image/), "busybox:1.37");
    await userEvent.click(screen.getByRole("button", { name: "Add a variable" }));
    await userEvent.type(screen.getByLabelText("Name of variable 1"), "1X");
    await userEvent.type(screen.getByLabelText("Memory limit"), "lots");
    await userEvent.click(screen.getByText("On a schedule (CronJob)"));
    await userEvent.click(screen.getByRole("button", { name: "Add a share" }));
    await userEvent.type(input("Password"), "s3cret");
    await userEvent.click(screen.getByRole("button", { name: "Deploy" }));

    const at = input;
    await waitFor(() => expect(at(/Deployment name/)).toHaveAccessibleDescription(/sales_etl is not an RFC 1123 label/));
    expect(at(/Runner image/)).toHaveAccessibleDescription(/an image is needed/);
    expect(at("Command")).toHaveAccessibleDescription(/the local runtime needs a command/);
    expect(at("Name of variable 1")).toHaveAccessibleDescription(/'1X' is not a variable name/);
    expect(at("Memory limit")).toHaveAccessibleDescription(/'lots' is not a quantity/);
    expect(at("Cron")).toHaveAccessibleDescription(/minute 61 is out of range/);
    expect(at("Time zone of the schedule")).toHaveAccessibleDescription(/is not an IANA time zone/);
    expect(at("Mounted at")).toHaveAccessibleDescription(/must be absolute/);
    expect(at("Password")).toHaveAccessibleDescription(/a password is needed/);
    expect(at("Retries of a failed run")).toHaveAccessibleDescription(/at most 100/);
    expect(at("Remove a finished run after (s)")).toHaveAccessibleDescription(/must not be negative/);
    // resource.* has no input: it shows at the resource; an unknown field above the form.
    expect(screen.getByText("not hexadecimal")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("spec.unknownThing");
    expect(screen.getByRole("alert")).not.toHaveTextContent("minute 61");

    // What was sent: the spec, the password in the request only.
    expect(sent).toMatchObject({ name: "hello", resource: toRun, runner: { image: "busybox:1.37", env: [{ name: "1X", value: "" }] } });
    expect((sent as unknown as { mounts: { credentials: { password: string } }[] }).mounts[0]!.credentials.password).toBe("s3cret");

    // A problem leaves its field once that field changes; the others stay until then.
    await userEvent.type(at("Name of variable 1"), "Y");
    expect(at("Name of variable 1")).not.toHaveAccessibleDescription(/is not a variable name/);
    expect(at("Memory limit")).toHaveAccessibleDescription(/'lots' is not a quantity/);
  });

  it("refuses a bad name as it is typed", async () => {
    catalogAndDeployer(() => HttpResponse.json({}, { status: 201 }));
    page();
    const name = await screen.findByLabelText(/Deployment name/);
    await waitFor(() => expect(name).toHaveValue("hello"));
    await userEvent.clear(name);
    await userEvent.type(name, "Sales_ETL");
    expect(name).toHaveAccessibleDescription(/Only lower-case letters, digits and '-'/);
    expect(screen.getByRole("button", { name: "Deploy" })).toBeDisabled();
  });
});
