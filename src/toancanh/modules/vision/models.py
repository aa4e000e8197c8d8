"""Video analytics keep no tables of their own in this slice: a pipeline's configuration comes from the
camera registry (`modules/cameras`: substream, detect fps, zones, lines, masks and their schedules), its
events are recorded through the alerts module with their snapshot in the blob store, and its live figures
(frames decoded, analysed, skipped, events) are held by the runners of the process (`runtime.VisionRuntime`).
"""
