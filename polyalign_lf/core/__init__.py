"""What several pipeline stages share, below all of them: text utilities (tokens, token F1), answer
embeddings, the predictions/candidates reader, dataset naming and the command-line blocks for named
inputs. A stage may import ``core``; ``core`` imports no stage."""
