// The citizen pages (群众端): QR report form and status page. Plain script (no framework): it must
// load fast on any phone. Errors show the server's Chinese message (message_zh).
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var errorBox = $('error');

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: 'nearest' });
  }
  function clearError() { errorBox.hidden = true; errorBox.textContent = ''; }

  function call(method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!res.ok) {
          var err = new Error((data && data.message_zh) || '网络异常，请稍后重试');
          err.code = data && data.code;
          err.status = res.status;
          throw err;
        }
        return data;
      });
    }, function () { throw new Error('网络异常，请检查网络后重试'); });
  }

  function newKey() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function reportPage() {
    var token = decodeURIComponent(location.pathname.split('/').pop() || '');
    var form = $('report-form');
    var key = newKey(); // one per filled form: a retry of the same submit is answered with the same ticket
    call('GET', '/api/public/citizen/buildings/' + encodeURIComponent(token)).then(function (b) {
      $('building').innerHTML = '';
      var p = document.createElement('div');
      p.className = 'place';
      p.id = 'building-place';
      p.textContent = b.place;
      var m = document.createElement('div');
      m.className = 'muted';
      m.textContent = '已自动识别楼栋位置，无需填写地址';
      $('building').appendChild(p);
      $('building').appendChild(m);
      b.types.forEach(function (t) {
        var o = document.createElement('option');
        o.value = t.value;
        o.textContent = t.label;
        $('type').appendChild(o);
      });
      form.hidden = false;
    }, function (e) {
      $('building').innerHTML = '';
      showError(e.message);
    });

    $('photos').addEventListener('change', function () {
      var box = $('previews');
      box.innerHTML = '';
      Array.prototype.slice.call(this.files, 0, 3).forEach(function (f) {
        var img = document.createElement('img');
        img.alt = f.name;
        img.src = URL.createObjectURL(f);
        box.appendChild(img);
      });
    });

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      var description = $('description').value.trim();
      if (description.length < 5) { showError('请至少用5个字描述问题'); return; }
      var files = $('photos').files;
      if (files.length > 3) { showError('最多上传 3 张照片'); return; }
      var fd = new FormData();
      fd.append('token', token);
      fd.append('idempotencyKey', key);
      fd.append('type', $('type').value);
      fd.append('description', description);
      fd.append('phone', $('phone').value.trim());
      for (var i = 0; i < files.length; i++) fd.append('photos', files[i], files[i].name);
      $('submit').disabled = true;
      $('submit').textContent = '正在提交…';
      call('POST', '/api/public/citizen/reports', fd).then(function (r) {
        form.hidden = true;
        $('ticket-number').textContent = r.ticketNumber;
        $('dup-note').hidden = !r.duplicate;
        $('no-phone-note').hidden = r.hasPhone;
        $('status-link').href = r.statusPath;
        $('done').hidden = false;
      }, function (e) {
        showError(e.message);
        $('submit').disabled = false;
        $('submit').textContent = '提交';
      });
    });
  }

  function statusPage() {
    var params = new URLSearchParams(location.search);
    var city = params.get('city') || undefined;
    if (params.get('n')) $('ticket-number').value = params.get('n');
    var number = function () { return $('ticket-number').value.trim(); };

    function render(s) {
      $('code-form').hidden = true;
      $('verify-form').hidden = true;
      $('status').hidden = false;
      $('s-number').textContent = s.ticketNumber;
      var ol = $('s-stages');
      ol.innerHTML = '';
      s.stages.forEach(function (st) {
        var li = document.createElement('li');
        li.textContent = st.label;
        if (st.done) li.className = 'done';
        ol.appendChild(li);
      });
      $('s-note').textContent = s.note || '当前状态：' + s.stageZh;
      $('s-type').textContent = s.typeZh;
      $('s-place').textContent = s.place || '—';
      $('s-description').textContent = s.description || '—';
      $('s-registered').textContent = new Date(s.registeredAt).toLocaleString('zh-CN', { hour12: false });
      $('s-result').textContent = s.result || '办理中，办结后在此显示结果';
      $('s-satisfaction').textContent = s.satisfactionZh || (s.canRate ? '待评价' : '—');
      $('rate-form').hidden = !s.canRate;
    }

    $('code-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      if (!number()) { showError('请填写工单编号'); return; }
      $('send-code').disabled = true;
      call('POST', '/api/public/citizen/status/code', { ticketNumber: number(), phone: $('phone').value.trim(), city: city }).then(function (r) {
        $('sent-note').textContent = '若手机号与工单登记的号码一致，验证码已发送，' + r.ttlMinutes + '分钟内有效。';
        $('verify-form').hidden = false;
        $('code').focus();
        var left = r.resendSeconds;
        var btn = $('send-code');
        var tick = setInterval(function () {
          left -= 1;
          btn.textContent = left > 0 ? '重新获取（' + left + '秒）' : '重新获取验证码';
          if (left <= 0) { clearInterval(tick); btn.disabled = false; }
        }, 1000);
      }, function (e) {
        $('send-code').disabled = false;
        showError(e.message);
      });
    });

    $('verify-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      $('verify').disabled = true;
      call('POST', '/api/public/citizen/status/verify', { ticketNumber: number(), code: $('code').value.trim(), city: city })
        .then(function () { return call('GET', '/api/public/citizen/status'); })
        .then(render, function (e) { showError(e.message); })
        .then(function () { $('verify').disabled = false; });
    });

    $('rate-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      clearError();
      var chosen = document.querySelector('input[name=satisfaction]:checked');
      if (!chosen) { showError('请选择满意、基本满意或不满意'); return; }
      $('rate').disabled = true;
      call('POST', '/api/public/citizen/status/rating', { satisfaction: chosen.value, comment: $('comment').value.trim() || null })
        .then(function (s) { render(s); $('s-note').textContent = '感谢您的评价！'; }, function (e) { showError(e.message); $('rate').disabled = false; });
    });

    // Already verified in the last half hour (the cookie): show the status at once.
    call('GET', '/api/public/citizen/status').then(function (s) {
      if (!params.get('n') || s.ticketNumber === params.get('n')) render(s);
    }, function () { /* not verified yet */ });
  }

  if (document.body.dataset.page === 'report') reportPage();
  else statusPage();
})();
