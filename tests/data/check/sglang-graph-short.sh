# SGLang serving up to 256 requests with CUDA graphs captured up to 64: larger batches decode eagerly.
SGLANG_ENABLE_SPEC_V2=0 python3 -m sglang.launch_server --model-path meta-llama/Llama-3.1-8B-Instruct \
  --tp-size 1 --max-running-requests 256 --cuda-graph-max-bs 64 \
  --speculative-algorithm EAGLE3 --speculative-draft-model-path yuhuili/EAGLE3-LLaMA3.1-Instruct-8B \
  --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4
