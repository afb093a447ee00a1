"""Names vulture reports as unused that something outside our code reads (`vulture` in .ci/run).

Vulture reads this file as code: a name written here counts as used. Each one says who uses it.
A name that is really dead is deleted, never added here.
"""

# Python's module protocol (PEP 562): specroof/__init__.py exports lazily.
__getattr__
__dir__
# click calls these on our Group and ParamType subclasses (cli/__init__.py, app/choices.py),
# and reads an option's help text (cli/speedup_cmd.py sets it after the decorator).
_.get_command
_.format_commands
_.get_metavar
_.help
# The warnings module calls warnings.showwarning (cli/__init__.py prints one line per warning).
_.showwarning
# pydantic reads a model's configuration and validates the fields an input file may carry
# (Hugging Face config.json aliases, device datasheet facts).
model_config
num_local_experts
n_routed_experts
num_experts_per_tok
num_experts_per_token
num_nextn_predict_layers
mtp_num_hidden_layers
# A Mooncake trace line's KV block ids (workload/traces.py): validated, not used (no prefix caching).
hash_ids
# Datasheet facts carried on the device record: the catalog files state them with their source.
_.vendor
_.interconnect
_.tdp_w
# Plan records' columns are read by name (cli/plan_cmd.py, web/view.py: "speculative_tokens").
_.speculative_tokens
# A signal handler's signature (tests/hostile/harness.py).
signum
frame
# A pytest fixture asked for by parameter name for its side effect (tests/hostile).
full_device
# http.server and uvicorn call or read these on the test servers' subclasses.
_.log_message
_.should_exit
# A method module binds the member it registers to a module name for readers; the package reads
# every member through METHODS (speculation/methods/).
EAGLE
MTP
NGRAM
NONE
# The tokenizers library reads a Tokenizer's pre_tokenizer when it encodes (the tiny local
# tokenizer of tests/test_acceptance_measure.py).
_.pre_tokenizer
# A profile field read from profiles.toml as data (the version a versioned profile carries,
# cost/profile.py _versioned_key), shown by fields.md and explain.
engine_version
