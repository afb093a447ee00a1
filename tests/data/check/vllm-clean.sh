# A vLLM launch with no speculation trap: graphs up to 64 x (3 + 1) = 256 tokens.
vllm serve meta-llama/Llama-3.1-8B-Instruct --tensor-parallel-size 1 --max-num-seqs 64 \
  --max-model-len 8192 --compilation-config '{"max_cudagraph_capture_size": 256}' \
  --speculative-config '{"method": "draft_model", "model": "meta-llama/Llama-3.2-1B-Instruct", "num_speculative_tokens": 3}'
