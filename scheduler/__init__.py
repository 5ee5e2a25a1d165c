"""The digest scheduler (APScheduler 3.x): scheduled digests of stance changes.

Built in the subscriptions-and-digests issue; the package exists so the
layout shows the whole flow: schemas <- streams <- scheduler.
"""
