"""`make chaos`: fault injection against the local runtime (test tooling, never shipped).

faults.py injects AWS errors and crashes through botocore's event system; pump.py is the local
queue pump with SQS's failure modes (redelivery, reordering, visibility timeouts and delays on
simulated time); carrier.py (a fake EasyPost) and the merchant endpoint misbehave over real HTTP; story.py plays
one small shop's week; __main__.py runs every scenario against a fault-free run of the story.
"""
