"""The universal image: each language's hello-world build and test runs as the sandbox user with
the network off (the agent phase's default), and user installs land on PATH."""

from __future__ import annotations

import pytest

from tasks.sandbox.docker import DockerSandbox

pytestmark = pytest.mark.docker

PROJECTS = {
    "py/test_hello.py": "def test_hello():\n    assert 'hello'.upper() == 'HELLO'\n",
    "node/package.json": '{"name": "hello", "version": "1.0.0", '
    '"scripts": {"test": "node test.js"}}\n',
    "node/test.js": "const assert = require('assert');\nassert.strictEqual(1 + 1, 2);\n"
    "console.log('node test ok');\n",
    "go/go.mod": "module example.com/hello\n\ngo 1.19\n",
    "go/hello.go": 'package hello\n\nfunc Hello() string { return "hello" }\n',
    "go/hello_test.go": 'package hello\n\nimport "testing"\n\n'
    'func TestHello(t *testing.T) {\n\tif Hello() != "hello" {\n\t\tt.Fatal(Hello())\n\t}\n}\n',
    "rust/Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n',
    "rust/src/lib.rs": 'pub fn hello() -> &\'static str { "hello" }\n\n'
    "#[cfg(test)]\nmod tests {\n    #[test]\n"
    '    fn says_hello() { assert_eq!(super::hello(), "hello"); }\n}\n',
    "java/Hello.java": "public class Hello {\n    public static void main(String[] args) {\n"
    '        System.out.println("hello from java");\n    }\n}\n',
    "ruby/hello.rb": "puts [104, 105].pack('c*') + ' from ruby'\n",
    "c/hello.c": '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n',
}


@pytest.fixture(scope="module")
def box(module_sandbox_factory, universal_image) -> DockerSandbox:
    sandbox = module_sandbox_factory(image=universal_image, memory_mb=2048, pids=512, cpus=2.0)
    for path, text in PROJECTS.items():
        sandbox.write_file(path, text)
    return sandbox


def run(box: DockerSandbox, command: str) -> str:
    result = box.exec(command, timeout=600)
    assert result.exit_code == 0, f"{command}:\n{result.output}"
    return result.output


def test_network_is_off_and_commands_run_as_the_sandbox_user(box):
    assert run(box, "whoami") == "sandbox\n"
    assert box.exec("curl -sS -m 5 https://pypi.org/ -o /dev/null").exit_code != 0


def test_python_pytest(box):
    assert "1 passed" in run(box, "cd py && python -m pytest -q -p no:cacheprovider")


def test_python_tools(box):
    out = run(
        box,
        "uv --version && pipx --version && poetry --version"
        " && uv venv -q /tmp/v && /tmp/v/bin/python -c 'print(42)'",
    )
    assert out.startswith("uv ") and out.rstrip().endswith("42")


def test_node_npm_pnpm_yarn(box):
    assert "node test ok" in run(box, "cd node && npm test")
    assert "node test ok" in run(box, "cd node && pnpm test")
    assert "node test ok" in run(box, "cd node && yarn --offline test")


def test_npm_global_install_needs_no_root(box):
    box.write_file(
        "tool/package.json",
        '{"name": "hi-tool", "version": "1.0.0", "bin": {"hi-tool": "hi.js"}}\n',
    )
    box.write_file("tool/hi.js", "#!/usr/bin/env node\nconsole.log('hi from a global tool');\n")
    run(box, "cd tool && npm install --global --offline --no-audit --no-fund .")
    assert run(box, "hi-tool") == "hi from a global tool\n"
    assert run(box, "command -v hi-tool") == "/home/sandbox/.npm-global/bin/hi-tool\n"


def test_go_test(box):
    assert "ok" in run(box, "cd go && GOFLAGS=-mod=mod GOPROXY=off go test ./...")


def test_go_install_lands_on_path(box):
    box.write_file("gocmd/go.mod", "module example.com/gocmd\n\ngo 1.19\n")
    box.write_file(
        "gocmd/main.go", 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go tool") }\n'
    )
    run(box, "cd gocmd && GOPROXY=off go install .")
    assert run(box, "gocmd") == "go tool\n"


def test_cargo_test_offline(box):
    assert "test result: ok. 1 passed" in run(box, "cd rust && cargo test --offline 2>&1")


def test_java_and_maven(box):
    assert run(box, "cd java && javac Hello.java && java Hello") == "hello from java\n"
    assert "Apache Maven" in run(box, "mvn -o -v")


def test_ruby_and_bundler(box):
    assert run(box, "ruby ruby/hello.rb") == "hi from ruby\n"
    assert "Bundler" in run(box, "bundle --version")


def test_c_toolchain_and_utilities(box):
    assert run(box, "cd c && cc -o /tmp/hello hello.c && /tmp/hello") == "hello from c\n"
    tools = ("cmake", "pkg-config", "sqlite3", "jq", "rg", "git", "curl")
    run(box, " && ".join(f"{tool} --version" for tool in tools))
