import json

import numpy as np
import onnxruntime

session = onnxruntime.InferenceSession("boxes.onnx")
classes = json.loads(session.get_modelmeta().custom_metadata_map["classes"])
X = np.load("images.npy")  # uint8, shape (n_samples, n_channels, height, width)
y, proba = session.run(["y", "proba"], {"X": X})  # est.predict(X), est.predict_proba(X)
for p_c, b_x, b_y, b_h, b_w, *one_hot in y:
    if p_c == 1:
        print(classes[np.argmax(one_hot)], "centre", (b_x, b_y), "size", (b_w, b_h))
