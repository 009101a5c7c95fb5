"""The graph that `main.rs` runs from Rust, written with the Python API and exported as a document.

`python examples/rust/pipeline.py` runs it in Python and (re)writes `pipeline.json`, the document the Rust
example loads; a test checks that the committed file is this graph's export.
"""

import asyncio
import json
from pathlib import Path

from operonx import END, PARENT, START, GraphOp, Operon, op


@op
def split_words(text):
    # A generator: each word is one item of the stream.
    for word in text.split():
        yield {"word": word}


@op
def shout(word):
    # Runs once per item.
    return {"loud": word.upper()}


@op
def count(words):
    # With .collect() this op runs once, after the stream ends, with the list of every word.
    return {"count": len(words)}


with GraphOp(name="words") as g:
    words = split_words(text=PARENT["text"])
    loud = shout(word=words["word"])
    total = count(words=words["word"].collect())
    START >> words >> [loud, total] >> END

DOCUMENT = Path(__file__).with_name("pipeline.json")

if __name__ == "__main__":
    result = asyncio.run(Operon(g).run({"text": "streams of words"}))
    print(result["loud"], result["count"])  # ['STREAMS', 'OF', 'WORDS'] 3
    DOCUMENT.write_text(json.dumps(g.export_config(), indent=2) + "\n")
