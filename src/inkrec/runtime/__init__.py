"""Running an exported model: the ONNX file's metadata layout (`metadata`) and its onnxruntime session
(`onnx_model.OnnxModel`). torch-free, for the slim serving install."""
