# Modelled on the reproduction reported on vLLM PR #37865, "Fix cudagraph max capture size upper
# bound" (https://github.com/vllm-project/vllm/pull/37865, comment of 2026-09-02, filed as issue
# #54933): max_num_seqs = 6, six speculative tokens and an explicit max_cudagraph_capture_size of
# 42; vLLM truncates the maximum to its grid value 40, the 42-token decode graph is missing and
# the six-sequence verification runs eager. The model and the drafting method are ours (the
# comment does not name them; they do not change the trap).
vllm serve Qwen/Qwen3-8B \
  --max-num-seqs 6 \
  --compilation-config '{"max_cudagraph_capture_size": 42}' \
  --speculative-config '{"method": "mtp", "num_speculative_tokens": 6}'
