// The buf-generated TypeScript client over native gRPC, against a real workspaced.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { seedExamples } from "../dist/example.js";
import { TaskService } from "../dist/gen/workspace/v1/task_pb.js";
import { startWorkspaced } from "../../sdk/js/test/helpers/workspaced.mjs";

let srv;
before(async () => { srv = await startWorkspaced(); });
after(async () => { await srv?.stop(); });

test("the README's example over gRPC", async () => {
  const { list, project, task, done } = await seedExamples(`http://${srv.grpcAddr}`, srv.adminKey);
  assert.equal(list.pagination.total, 0);
  assert.match(project.id, /^proj_/);
  assert.equal(task.status, "todo");
  assert.equal(done.status, "completed");
  assert.ok(done.completedAt);

  // Errors carry the contract's code in grpc-status and ErrorInfo.
  const transport = createGrpcTransport({
    baseUrl: `http://${srv.grpcAddr}`,
    interceptors: [(next) => (req) => { req.header.set("authorization", `Bearer ${srv.adminKey}`); return next(req); }],
  });
  const tasks = createClient(TaskService, transport);
  await assert.rejects(tasks.getTask({ id: "task_doesNotExist000000" }), (e) => {
    assert.ok(e instanceof ConnectError);
    assert.equal(e.code, Code.NotFound);
    return true;
  });
});
