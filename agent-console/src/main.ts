import { createApp } from 'vue';
import 'element-plus/dist/index.css';
import './styles/console.css';
import App from './App.vue';
import { i18n } from './i18n';
import { installElement } from './plugins/element';
import { router } from './routes';
import { wireLive } from './realtime';

document.documentElement.lang = i18n.global.locale.value;
const app = createApp(App);
app.use(i18n);
installElement(app);
app.use(router);
wireLive();
app.mount('#app');
