// The seed's three examples over native gRPC, from Node, with the client that
// buf.gen.clients.yaml generates and @connectrpc/connect-node's gRPC
// transport. The README shows the same code; test/grpc.test.mjs runs it
// against a real workspaced.
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ProjectService } from "./gen/workspace/v1/project_pb.js";
import { TaskService } from "./gen/workspace/v1/task_pb.js";

export async function seedExamples(grpcUrl: string, apiKey: string) {
  // The API key travels as metadata on every call.
  const auth: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${apiKey}`);
    return next(req);
  };
  const transport = createGrpcTransport({ baseUrl: grpcUrl, interceptors: [auth] }); // e.g. http://localhost:9090
  const projects = createClient(ProjectService, transport);
  const tasks = createClient(TaskService, transport);

  // List all projects
  const list = await projects.listProjects({ limit: 20 });
  console.log(list.data.map((p) => p.name), list.pagination?.total);

  // Create a task (in a new project)
  const { project } = await projects.createProject({ name: "My Project", description: "A new project" });
  const { task } = await tasks.createTask({ title: "My Task", projectId: project!.id });

  // Update a task: only the fields set change
  const { task: done } = await tasks.updateTask({ id: task!.id, task: { status: "completed" } });
  console.log(done?.status, done?.completedAt);
  return { list, project: project!, task: task!, done: done! };
}
