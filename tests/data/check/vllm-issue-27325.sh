# Modelled on vLLM issue #27325, "When spec_tokens count is greater than 1, the adaptation of
# cuda_graph_sizes causes the decoding process to fall back to eager mode"
# (https://github.com/vllm-project/vllm/issues/27325, 2025-10-22): with no capture sizes given,
# vLLM captures up to min(max_num_seqs * 2, 512) TOKENS, while a decode step with
# num_speculative_tokens = 2 runs max_num_seqs * 3 tokens, so full batches decode eagerly.
# The issue gives the rule, not a launch: the model, the draft and max_num_seqs = 128 are ours.
vllm serve meta-llama/Llama-3.1-8B-Instruct \
  --max-num-seqs 128 \
  --speculative-config '{"method": "eagle3", "model": "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B", "num_speculative_tokens": 2}'
