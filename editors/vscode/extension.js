// The riddle extension: the grammar and language configuration are declarative (package.json);
// this starts `riddle lsp` for riddle files and stops it with the editor.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("riddle.server");
  const args = ["lsp"];
  for (const plugin of config.get("plugins", [])) args.push("--plugin", plugin);
  const server = { command: config.get("command", "riddle"), args };
  client = new LanguageClient("riddle", "riddle", { run: server, debug: server }, {
    documentSelector: [{ scheme: "file", language: "riddle" }, { scheme: "untitled", language: "riddle" }],
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
