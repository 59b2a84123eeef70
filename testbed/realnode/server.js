const express = require('express');
const { trace } = require('@opentelemetry/api');
const app = express();
app.use((req, res, next) => { // auth middleware: the caller, once per request
  const user = req.get('authorization');
  if (user) { trace.getActiveSpan()?.setAttribute('enduser.id', user); }
  next();
});
app.get('/api/orders', (req, res) => res.json({ ok: true }));
app.get('/api/crash', (req, res) => { const x = undefined; res.json({ id: x.id }); });
app.listen(Number(process.env.PORT), () => console.log('listening'));
