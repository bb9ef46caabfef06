"""The spec's demo on one machine (`sadeem demo`): `flow` runs it through the HTTP API against
any Sadeem and Trino; `stack` starts the real components it needs (`processes`)."""
