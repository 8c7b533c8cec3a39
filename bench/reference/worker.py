"""The issue's comparison point: the worker a typical team would write in Python.

aio-pika for RabbitMQ, the official `openai` client, jinja2 for the prompts, PyYAML for the
frontmatter, one asyncio task per message (aio-pika's consumer), `prefetch_count` jobs in
flight. It does what a `rewriter` job does for the benchmark's inputs, in the ordinary way:
parse the job, render the prompt set's calls (the same templates as the worker's current
prompt set, `REWRITER_PROMPT_VERSION` or the highest `prompts/v<N>`: one call in v2, four in
v1; their few Handlebars blocks turned into jinja2 at start-up), ask the LLM for each with the
same JSON schemas, one after another, assemble a Markdown article with YAML frontmatter, write it
atomically (temporary file, fsync, rename, in a thread) and acknowledge the message. It has
none of `rewriter`'s review, retries, dead-lettering, versions or metrics beyond what the
bench reads.

Not part of the product: `examples/bench.rs --reference` runs it with the worker's settings
(AMQP_URL, REWRITER_QUEUE, OPENAI_BASE_URL, OPENAI_API_KEY, REWRITER_OUT, REWRITER_PROMPTS,
REWRITER_CONCURRENCY, REWRITER_METRICS_ADDR), and reads `rewriter_jobs_total` from the tiny
`/metrics` it serves. Requirements: bench/reference/requirements.txt.
"""

import asyncio
import json
import os
import re
import tempfile
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path

import aio_pika
import jinja2
import yaml
from openai import AsyncOpenAI

HANDLEBARS = [
    (r"\{\{#if ([\w.]+)\}\}", r"{% if \1 %}"),
    (r"\{\{else\}\}", r"{% else %}"),
    (r"\{\{/if\}\}", r"{% endif %}"),
    (r"\{\{#unless @last\}\}", r"{% if not loop.last %}"),
    (r"\{\{/unless\}\}", r"{% endif %}"),
    (r"\{\{#each ([\w.]+)\}\}", r"{% for this in \1 %}"),
    (r"\{\{/each\}\}", r"{% endfor %}"),
]


def jinja_source(handlebars: str) -> str:
    for pattern, replacement in HANDLEBARS:
        handlebars = re.sub(pattern, replacement, handlebars)
    return handlebars


class PromptSet:
    def __init__(self, folder: Path):
        self.manifest = tomllib.loads((folder / "manifest.toml").read_text())
        env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
        self.system = env.from_string(jinja_source((folder / self.manifest["system"]).read_text()))
        self.calls = [
            (
                call,
                env.from_string(jinja_source((folder / call["template"]).read_text())),
                json.loads((folder / call["schema"]).read_text()),
            )
            for call in self.manifest["calls"]
        ]


def prompt_folder(root: Path) -> Path:
    """The worker's rule: `REWRITER_PROMPT_VERSION`, else the highest `v<N>` folder."""
    if os.environ.get("REWRITER_PROMPT_VERSION"):
        return root / f"v{int(os.environ['REWRITER_PROMPT_VERSION'])}"
    versions = [int(d.name[1:]) for d in root.iterdir() if re.fullmatch(r"v[1-9][0-9]*", d.name)]
    return root / f"v{max(versions)}"


def news_item(headline: dict) -> str:
    data = {"title": headline["title"]}
    if headline.get("description"):
        data["summary"] = headline["description"]
    data["source"] = headline["source"]["name"]
    data["published"] = headline["publishedAt"]
    for key in ("category", "tags"):
        if headline.get(key):
            data[key] = headline[key]
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return "<<<NEWS_ITEM\n" + text.replace("<", "\\u003c").replace(">", "\\u003e") + "\nNEWS_ITEM>>>"


def markdown(headline: dict, fields: dict, language: dict, model: str, usage: list) -> str:
    front = {
        "title": headline["title"],
        "description": fields["overview"],
        "date": headline["publishedAt"],
        "sourceKey": headline["source"].get("key", ""),
        "externalId": str(headline["externalId"]),
        "category": fields["category"],
        "tags": fields["tags"],
        "sentiment": fields["sentiment"],
        "ai": {
            "rewritten": True,
            "model": model,
            "promptVersion": 1,
            "rewrittenAt": datetime.now(timezone.utc).isoformat(),
            "promptTokens": sum(u[0] for u in usage),
            "completionTokens": sum(u[1] for u in usage),
        },
    }
    body = [
        f"## {language['overview']}",
        fields["overview"],
        f"## {fields['heading']}",
        *fields["paragraphs"],
        f"## {language['author']}",
        *fields["commentary"],
        f"## {language['impact']}",
        "\n".join(f"- {b}" for b in fields["bullets"]),
    ]
    return "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n\n" + "\n\n".join(body) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Worker:
    def __init__(self):
        self.prompts = PromptSet(prompt_folder(Path(os.environ["REWRITER_PROMPTS"])))
        self.out = Path(os.environ["REWRITER_OUT"])
        self.llm = AsyncOpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key=os.environ["OPENAI_API_KEY"])
        self.model = self.prompts.manifest["model"]
        self.written = 0
        self.failed = 0
        self.llm_seconds = 0.0
        self.llm_calls = 0

    async def handle(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            headline = json.loads(message.body)["headline"]
            language = self.prompts.manifest["languages"][headline.get("lang", "en")]
            context = {
                "language": language["name"],
                "categories": self.prompts.manifest["categories"],
                "item": {"has_description": bool(headline.get("description")), "has_category": bool(headline.get("category"))},
                "news_item": news_item(headline),
            }
            system = self.prompts.system.render(context)
            fields, usage = {}, []
            for call, template, schema in self.prompts.calls:
                started = time.monotonic()
                response = await self.llm.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": template.render(context)}],
                    response_format={"type": "json_schema", "json_schema": {"name": call["name"], "schema": schema, "strict": True}},
                    max_tokens=call["max_tokens"],
                    temperature=self.prompts.manifest["sampling"]["temperature"],
                )
                self.llm_seconds += time.monotonic() - started
                self.llm_calls += 1
                fields.update(json.loads(response.choices[0].message.content))
                usage.append((response.usage.prompt_tokens, response.usage.completion_tokens))
            text = markdown(headline, fields, language, self.model, usage)
            path = self.out / "articles" / f"{headline['externalId']}.md"
            await asyncio.to_thread(write_atomically, path, text)
            await message.ack()
            self.written += 1
        except Exception:
            await message.reject(requeue=False)
            self.failed += 1

    async def metrics(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = (
            f'rewriter_jobs_total{{outcome="written"}} {self.written}\n'
            f'rewriter_jobs_total{{outcome="failed"}} {self.failed}\n'
            f"rewriter_llm_request_duration_seconds_sum {self.llm_seconds}\n"
            f"rewriter_llm_request_duration_seconds_count {self.llm_calls}\n"
        ).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n")
        writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    async def run(self) -> None:
        host, port = os.environ["REWRITER_METRICS_ADDR"].rsplit(":", 1)
        await asyncio.start_server(self.metrics, host, int(port))
        connection = await aio_pika.connect_robust(os.environ["AMQP_URL"])
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=int(os.environ["REWRITER_CONCURRENCY"]))
        queue = await channel.get_queue(os.environ["REWRITER_QUEUE"], ensure=True)
        await queue.consume(self.handle)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(Worker().run())
